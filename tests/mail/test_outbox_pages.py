"""The development outbox pages: there in development, a 404 everywhere else."""

from __future__ import annotations

import pytest

from tests.builders.billing import make_customer
from tests.helpers import text_of, visible_text
from tests.mail.helpers import send_now, sent_emails

DEVELOPMENT = {"SHOP_ENV": "development", "DEV_OUTBOX": True}


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
def test_the_outbox_lists_messages_newest_first(client):
    customer = make_customer("jo@example.com")
    send_now(
        customer.email, "sign_in_link", customer=customer, link="http://shop.test/a", minutes=15
    )
    send_now(
        customer.email,
        "sign_in_link",
        customer=customer,
        link="http://shop.test/b",
        minutes=15,
        subject="Second message",
    )
    response = client.get("/dev/outbox")
    assert response.status_code == 200
    page = visible_text(response)
    assert page.index("Second message") < page.index("Your MuscleBox sign-in link")
    assert "to jo@example.com" in page
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
def test_a_message_shows_its_text_and_its_html_sandboxed(client):
    customer = make_customer("jo@example.com", name="<script>alert('name')</script>")
    send_now(
        customer.email,
        "sign_in_link",
        customer=customer,
        link="http://shop.test/account/login/tok&en",
        minutes=15,
    )
    (email,) = sent_emails()
    response = client.get(f"/dev/outbox/{email.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>" not in body, "neither part can run script on the page"
    # The text part, escaped, its link clickable.
    assert "Hi &lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;," in body
    assert '<a href="http://shop.test/account/login/tok&amp;en">' in body
    # The HTML part only inside a sandboxed frame, as an escaped attribute.
    assert (
        '<iframe class="outbox-html" title="The HTML part of the email" sandbox srcdoc="&lt;!doctype html&gt;'
        in body
    )
    assert "&amp;lt;script&amp;gt;" in body, "the name was escaped in the email, then again"
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
def test_an_unknown_message_is_404(client):
    assert client.get("/dev/outbox/999").status_code == 404


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
def test_an_empty_outbox_says_how_to_fill_it(client):
    assert "The outbox is empty." in text_of(client.get("/dev/outbox"))


@pytest.mark.parametrize("app_settings", [{}, {"SHOP_ENV": "production"}])
def test_the_outbox_is_not_there_outside_development(app, client):
    app.config["SECRET_KEY"] = "x" * 48
    customer = make_customer("jo@example.com")
    if app.config["SHOP_ENV"] != "production":
        send_now(customer.email, "sign_in_link", customer=customer, link="http://x/", minutes=15)
    for path in ("/dev/outbox", "/dev/outbox/1"):
        response = client.get(path)
        assert response.status_code == 404
        assert "jo@example.com" not in text_of(response)
