"""Customers sign in with a single-use link emailed to them, and sign out by POST."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shop.accounts.models import SignInLink
from shop.accounts.services import SignInLinkInvalid, redeem_sign_in_link
from shop.db import utcnow
from shop.extensions import db
from shop.jobs import init_jobs
from shop.mail.models import EmailStatus, QueuedEmail
from tests.accounts.conftest import emailed_link_path, request_link, sign_in
from tests.builders.billing import make_customer
from tests.conftest import IS_POSTGRES
from tests.helpers import csrf_token, run_delayed_jobs, text_of, visible_text
from tests.mail.helpers import sent_emails

LINK_SENT = (
    "If that email has a MuscleBox subscription, we're emailing it a sign-in link now. "
    "It works once, for 15 minutes from when it arrives."
)
LINK_INVALID = "This sign-in link has expired or was already used"
_CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]*"')


def links() -> list[SignInLink]:
    return db.session.scalars(select(SignInLink).order_by(SignInLink.id)).all()


def test_sign_in_page_has_a_labelled_email_form(client):
    response = client.get("/account/login")
    assert response.status_code == 200
    page = text_of(response)
    assert '<label for="email">Email address</label>' in page
    assert 'name="csrf_token"' in page and 'type="email"' in page
    assert "Email me a sign-in link" in page
    assert response.headers["Cache-Control"] == "no-store"


def test_known_and_unknown_emails_get_the_same_answer(app, customer):
    known, unknown = app.test_client(), app.test_client()
    for_known = request_link(known, "jo@example.com")
    for_unknown = request_link(unknown, "nobody@example.com")

    assert for_known.status_code == for_unknown.status_code == 303
    assert for_known.headers["Location"] == for_unknown.headers["Location"]
    page_known, page_unknown = (
        known.get(for_known.headers["Location"]),
        unknown.get(for_unknown.headers["Location"]),
    )
    assert page_known.status_code == page_unknown.status_code == 200
    assert LINK_SENT in visible_text(page_known)
    # Byte for byte the same page, but for each browser's own CSRF token.
    assert _CSRF_VALUE.sub("", page_known.get_data(as_text=True)) == _CSRF_VALUE.sub(
        "", page_unknown.get_data(as_text=True)
    )

    (email,) = sent_emails()
    assert email.to_address == "jo@example.com"
    assert email.subject == "Your MuscleBox sign-in link"
    assert sent_emails(to="nobody@example.com") == []


def test_email_is_matched_whatever_its_case_and_spaces(client, customer):
    request_link(client, "  JO@Example.COM ")
    assert [email.to_address for email in sent_emails()] == ["jo@example.com"]


def test_only_the_hash_of_the_token_is_stored(client, customer):
    request_link(client, customer.email)
    token = emailed_link_path(customer.email).rsplit("/", 1)[1]
    (link,) = links()
    assert len(token) >= 43, "32 random bytes"
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in link.token_hash
    # Made when the email went, it works for 15 minutes from then.
    assert timedelta(minutes=15) <= link.expires_at - link.created_at < timedelta(minutes=16)
    assert link.used_at is None


def test_the_email_has_the_link_in_both_parts(client, customer):
    request_link(client, customer.email)
    (email,) = sent_emails()
    path = emailed_link_path(customer.email)
    assert "http://shop.test" + path in email.text_body
    assert 'href="http://shop.test' + path + '"' in email.html_body
    assert "It works once, for 15 minutes." in email.text_body
    assert "Hi Jo," in email.text_body


def test_opening_the_link_asks_to_confirm_and_does_not_use_it(client, customer):
    request_link(client, customer.email)
    path = emailed_link_path(customer.email)
    for _ in range(2):  # a mail scanner fetched it first: the customer can still use it
        page = client.get(path)
        assert page.status_code == 200
        assert "press the button to sign in" in visible_text(page)
        assert f'action="{path}"' in text_of(page)
    assert links()[0].used_at is None
    assert client.get("/account/").status_code == 302, "not signed in by a GET"


def test_pressing_sign_in_signs_in_and_uses_the_link(client, customer):
    response = sign_in(client, customer)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/"
    page = client.get("/account/")
    assert page.status_code == 200
    assert "You're signed in." in visible_text(page)
    assert "Signed in as jo@example.com" in visible_text(page)
    (link,) = links()
    db.session.refresh(customer)
    assert link.used_at is not None
    assert customer.last_sign_in_at == link.used_at


def test_signing_in_starts_a_fresh_long_lived_session(client, customer):
    client.get("/account/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = sign_in(client, customer)
    assert "Expires=" in response.headers["Set-Cookie"], "kept after the browser closes"
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["customer_id"] == customer.id


def test_a_used_link_does_not_work_again(app, client, customer):
    request_link(client, customer.email)
    path = emailed_link_path(customer.email)
    first = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert first.status_code == 303

    other = app.test_client()
    token = csrf_token(other, "/account/login")
    for response in (other.get(path), other.post(path, data={"csrf_token": token})):
        assert response.status_code == 400
        assert LINK_INVALID in visible_text(response)
        assert 'href="/account/login"' in text_of(response)
    assert other.get("/account/").status_code == 302


def test_an_expired_link_does_not_work(client, customer):
    request_link(client, customer.email)
    path = emailed_link_path(customer.email)
    page_token = csrf_token(client, path)
    db.session.execute(
        update(SignInLink).values(
            created_at=utcnow() - timedelta(minutes=16), expires_at=utcnow() - timedelta(minutes=1)
        )
    )
    db.session.commit()
    for response in (client.get(path), client.post(path, data={"csrf_token": page_token})):
        assert response.status_code == 400
        assert LINK_INVALID in visible_text(response)
        assert "Email me a new link" in visible_text(response)
    assert links()[0].used_at is None
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 500, "%00%27--"])
def test_a_wrong_token_gets_the_expired_page_not_an_error(client, customer, token):
    form_token = csrf_token(client, "/account/login")
    for response in (
        client.get(f"/account/login/{token}"),
        client.post(f"/account/login/{token}", data={"csrf_token": form_token}),
    ):
        assert response.status_code == 400
        if "%00" not in token:  # NUL is refused everywhere, before any view
            assert LINK_INVALID in visible_text(response)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Please enter your email address."),
        ("not-an-email", "Please enter a valid email address"),
        ("jo@", "Please enter a valid email address"),
        ("<script>alert(1)</script>@x.com", "Please enter a valid email address"),
        ("e" * 250 + "@x.com", "Please keep it under 254 characters."),
    ],
)
def test_a_bad_email_is_refused_with_the_text_kept(client, customer, typed, message):
    response = request_link(client, typed)
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert 'aria-invalid="true"' in page and "field-error" in page
    assert f'value="{typed}"' in page
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert sent_emails() == []


def test_sign_in_form_without_csrf_token_is_refused_with_the_email_kept(client, customer):
    response = client.post("/account/login", data={"email": "jo@example.com"})
    assert response.status_code == 400
    assert "This page was open for a while" in visible_text(response)
    assert 'value="jo@example.com"' in text_of(response)
    assert sent_emails() == [] and links() == []


def test_confirming_without_csrf_token_is_refused_and_keeps_the_link(client, customer):
    request_link(client, customer.email)
    path = emailed_link_path(customer.email)
    client.get(path)
    response = client.post(path, data={})
    assert response.status_code == 400
    assert links()[0].used_at is None
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize("app_settings", [{"CUSTOMER_LOGIN_RATE_LIMIT": "2 per minute"}])
def test_asking_for_links_is_rate_limited_per_ip(client, customer):
    token = csrf_token(client, "/account/login")
    for email in ("a@example.com", "b@example.com"):
        response = client.post("/account/login", data={"email": email, "csrf_token": token})
        assert response.status_code == 303
    response = client.post("/account/login", data={"email": "jo@example.com", "csrf_token": token})
    assert response.status_code == 429
    assert "Slow down a little" in visible_text(response)
    assert "per 1 minute" not in visible_text(response)  # the limiter's wording is not for people
    assert sent_emails() == []
    assert client.get("/account/login").status_code == 200, "only posting is limited"


def test_at_most_three_links_per_email_in_fifteen_minutes(app, customer):
    responses = [request_link(app.test_client(), customer.email) for _ in range(4)]
    assert {response.status_code for response in responses} == {303}
    assert {response.headers["Location"] for response in responses} == {
        "/account/login/check-email"
    }
    assert len(sent_emails(to=customer.email)) == 3
    assert len(links()) == 3

    db.session.execute(update(SignInLink).values(created_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    request_link(app.test_client(), customer.email)
    assert len(sent_emails(to=customer.email)) == 4, "a new window, a new link"


def test_signing_out_takes_a_post(customer_client):
    assert customer_client.get("/account/logout").status_code == 405
    assert customer_client.get("/account/").status_code == 200

    refused = customer_client.post("/account/logout", data={})
    assert refused.status_code == 400
    assert customer_client.get("/account/").status_code == 200

    token = csrf_token(customer_client, "/account/")
    response = customer_client.post("/account/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/login"
    assert "You've signed out." in visible_text(customer_client.get("/account/login"))
    after = customer_client.get("/account/")
    assert after.status_code == 302 and after.headers["Location"] == "/account/login"


def test_signed_in_customer_asking_to_sign_in_goes_to_the_account(customer_client):
    response = customer_client.get("/account/login")
    assert response.status_code == 303 and response.headers["Location"] == "/account/"


def test_a_mail_failure_gives_the_same_answer_and_the_link_follows_when_mail_is_back(
    app, client, caplog
):
    make_customer("jo@example.com")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{closed_port}"
    caplog.set_level(logging.INFO, logger="shop")

    response = request_link(client, "jo@example.com")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/login/check-email"
    (queued,) = db.session.scalars(select(QueuedEmail)).all()
    assert queued.status is EmailStatus.PENDING and queued.attempts == 1
    assert queued.last_error.startswith("ConnectionRefusedError")
    assert f"email {queued.id} (sign_in_link) not sent (ConnectionRefusedError" in caplog.text
    assert "jo@example.com" not in caplog.text
    assert "/account/login/" not in caplog.text

    app.config["MAIL_URL"] = ""  # the mail server is back (here: the outbox)
    assert run_delayed_jobs(app) == 1
    assert db.session.get(QueuedEmail, queued.id).status is EmailStatus.SENT
    path = emailed_link_path("jo@example.com")
    opened = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert opened.status_code == 303 and opened.headers["Location"] == "/account/"


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks: SQLite has a single writer")
def test_two_requests_racing_with_one_link_sign_in_once(app, client, customer):
    request_link(client, customer.email)
    token = emailed_link_path(customer.email).rsplit("/", 1)[1]
    db.session.rollback()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use_link() -> None:
        with app.app_context():
            barrier.wait()
            try:
                redeem_sign_in_link(token)
            except SignInLinkInvalid:
                outcomes.append("refused")
            else:
                outcomes.append("signed in")

    threads = [threading.Thread(target=use_link) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["refused", "signed in"]


def test_the_page_only_queues_the_email_and_no_usable_token_waits_anywhere(
    app, client, customer, tmp_path
):
    """The sign-in page answers without waiting for the mail server (its time would tell who is
    a customer); the queued job carries ids only, and the token is made when the email goes."""
    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)  # a real queue, with no worker yet
    queue = app.extensions["huey"]

    response = request_link(client, customer.email)

    assert response.status_code == 303
    assert sent_emails(to=customer.email) == []
    (link,) = links()
    assert link.token_hash is None  # no token exists yet
    assert queue.pending_count() == 1
    job = queue.dequeue()
    assert job.args == (db.session.scalars(select(QueuedEmail.id)).one(),)

    queue.execute(job)  # the worker's turn
    db.session.expire_all()
    assert len(sent_emails(to=customer.email)) == 1
    assert links()[0].token_hash is not None


def test_an_email_sent_again_after_a_lost_acknowledgement_carries_a_working_link(
    app, client, customer
):
    """The worker died after the mail server took the email: the sweep sends it again. Both
    copies (one Message-ID) must open the account."""
    from shop.mail.queue import send_queued_email

    request_link(client, customer.email)
    first = emailed_link_path(customer.email)
    queued = db.session.scalars(select(QueuedEmail)).one()
    queued.status = EmailStatus.PENDING  # as if never marked sent
    db.session.commit()
    assert send_queued_email(queued.id) == "sent"
    db.session.expire_all()
    second = emailed_link_path(customer.email)
    assert second == first
    opened = client.post(first, data={"csrf_token": csrf_token(client, first)})
    assert opened.status_code == 303 and opened.headers["Location"] == "/account/"
