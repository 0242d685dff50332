"""Only SITE_URL's host (and loopback names) is answered; links and redirects use SITE_URL."""

from __future__ import annotations

import pytest

from shop.config import trusted_hosts
from shop.urls import absolute_url
from tests.accounts.conftest import request_link
from tests.builders.billing import make_customer
from tests.helpers import csrf_token
from tests.mail.helpers import sent_emails

EVIL = "evil.example"
PAGES = ["/", "/account/login", "/admin/login", "/blog/", "/healthz", "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_a_hostile_host_header_gets_400_and_no_link_to_it(client, path):
    response = client.get(path, headers={"Host": EVIL})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert EVIL not in body
    assert 'href="http://shop.test/"' in body, "it points to the shop's real address"
    assert "Location" not in response.headers


def test_a_hostile_host_cannot_post_either(client):
    response = client.post(
        "/account/login", data={"email": "jo@example.com"}, headers={"Host": EVIL}
    )
    assert response.status_code == 400
    assert sent_emails() == []


@pytest.mark.parametrize("host", ["shop.test", "shop.test:8000", "localhost", "127.0.0.1:5000"])
def test_the_sites_own_host_and_loopback_are_answered(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_x_forwarded_host_is_ignored_without_a_trusted_proxy(client):
    make_customer("jo@example.com")
    response = request_link(client, "jo@example.com")
    assert response.status_code == 303
    page = client.get("/", headers={"X-Forwarded-Host": EVIL})
    assert page.status_code == 200
    assert EVIL not in page.get_data(as_text=True)
    (email,) = sent_emails()
    assert EVIL not in email.text_body + email.html_body


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXY_COUNT": 1}])
def test_behind_a_proxy_a_hostile_x_forwarded_host_gets_400(client):
    hostile = client.get("/", headers={"X-Forwarded-Host": EVIL, "X-Forwarded-For": "203.0.113.9"})
    assert hostile.status_code == 400
    assert EVIL not in hostile.get_data(as_text=True)
    own = client.get(
        "/", headers={"X-Forwarded-Host": "shop.test", "X-Forwarded-For": "203.0.113.9"}
    )
    assert own.status_code == 200


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXY_COUNT": 1}])
def test_behind_a_proxy_emailed_links_use_site_url_not_the_forwarded_address(client):
    make_customer("jo@example.com")
    forwarded = {"X-Forwarded-Host": "localhost:8443", "X-Forwarded-Proto": "https"}
    response = client.post(
        "/account/login",
        data={"email": "jo@example.com", "csrf_token": csrf_token(client, "/account/login")},
        headers=forwarded,
    )
    assert response.status_code == 303
    (email,) = sent_emails()
    assert "http://shop.test/account/login/" in email.text_body
    assert "localhost" not in email.text_body + email.html_body


def test_redirects_are_relative_or_on_site_url(client):
    response = client.get("/admin/", headers={"Host": "localhost"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize(
    "app_settings", [{"SHOP_ENV": "production", "SITE_URL": "https://musclebox.example"}]
)
def test_production_answers_its_site_and_builds_links_from_it(app, client):
    assert app.config["TRUSTED_HOSTS"] == ["musclebox.example", "localhost", "127.0.0.1"]
    assert client.get("/", base_url="https://musclebox.example").status_code == 200
    assert client.get("/", base_url="https://www.musclebox.example").status_code == 400
    # Outside any request (a job, a command) links still come from SITE_URL.
    assert absolute_url("accounts.account") == "https://musclebox.example/account/"


@pytest.mark.parametrize("app_settings", [{"EXTRA_TRUSTED_HOSTS": ("shop-internal",)}])
def test_extra_trusted_hosts_are_answered(client):
    assert client.get("/healthz", headers={"Host": "shop-internal:8000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "shop-external"}).status_code == 400


def test_trusted_hosts_come_from_site_url():
    assert trusted_hosts("https://Shop.Example:8443/") == ["shop.example", "localhost", "127.0.0.1"]
    assert trusted_hosts("http://127.0.0.1:5000", ("a.example",)) == [
        "127.0.0.1",
        "a.example",
        "localhost",
    ]


@pytest.mark.parametrize("host", ["SHOP.TEST", "Shop.Test", "LOCALHOST:5000"])
def test_the_shops_own_and_loopback_names_are_answered_in_any_case(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["[::1]", "EVIL.test", "evil.test", "shop.test.evil.test"])
def test_other_hosts_are_still_refused(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 400
