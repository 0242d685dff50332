"""Rendering and delivering an email: both parts from templates, SMTP or the outbox, and
failures that say what went wrong without the recipient or the message."""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import UTC, datetime

import pytest
from jinja2 import TemplateNotFound
from sqlalchemy import select

from shop.accounts.models import Customer
from shop.billing.models import SubscriptionStatus
from shop.extensions import db
from shop.mail.services import MailNotSent, deliver_rendered, render_email
from tests.builders.billing import make_customer, make_plan, make_subscription
from tests.builders.content import make_box
from tests.mail.helpers import send_now, sent_emails
from tests.mail.smtp_sink import SmtpSink

LINK = "http://shop.test/account/login/abc123"


@pytest.fixture
def customer(app) -> Customer:  # type: ignore[no-untyped-def]
    return make_customer("jo@example.com", name="Jo Lifter")


@pytest.fixture
def subscription(customer):  # type: ignore[no-untyped-def]
    plan = make_plan(make_box("miss-musclebox", "Miss MuscleBox"), term_months=3, price_cents=13485)
    return make_subscription(
        customer,
        plan,
        current_period_end=datetime(2027, 1, 2, 14, 0, tzinfo=UTC),
        ended_at=datetime(2026, 11, 3, 14, 0, tzinfo=UTC),
    )


@pytest.fixture
def shop_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="shop")
    return caplog


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in_email(customer: Customer, **overrides: object) -> bool:
    return send_now(
        customer.email, "sign_in_link", customer=customer, link=LINK, minutes=15, **overrides
    )


def why_not_sent(customer: Customer) -> str:
    """What `MailNotSent` says when the sign-in email cannot be delivered."""
    rendered = render_email("sign_in_link", customer=customer, link=LINK, minutes=15)
    with pytest.raises(MailNotSent) as refused:
        deliver_rendered(customer.email, rendered)
    return str(refused.value)


# -- the outbox (no MAIL_URL) -----------------------------------------------------------------


def test_without_mail_url_the_email_is_kept_in_the_outbox(customer):
    assert sign_in_email(customer) is True
    (email,) = sent_emails()
    assert email.to_address == "jo@example.com"
    assert email.subject == "Your MuscleBox sign-in link"
    assert email.text_body.startswith("Hi Jo,\n\nHere's your link to sign in")
    assert LINK in email.text_body and "It works once, for 15 minutes." in email.text_body
    assert email.html_body.startswith("<!doctype html>")
    assert f'href="{LINK}"' in email.html_body and "Sign in to MuscleBox" in email.html_body


@pytest.mark.parametrize(
    ("template", "subject", "text", "html"),
    [
        (
            "subscription_confirmed",
            "You're subscribed to Miss MuscleBox",
            [
                "Miss MuscleBox, $134.85 AUD every 3 months",
                "Next payment: 3 January 2027",
                "send it to:\n\n  Jo Lifter\n  12 Bondi Rd\n  Bondi NSW 2026\n  Australia\n\n",
                "http://shop.test/account/",
            ],
            ['href="http://shop.test/account/"', "Bondi NSW 2026"],
        ),
        (
            "payment_failed",
            "Your Miss MuscleBox payment didn't go through",
            ["Please update your card", 'choose "Manage billing"', "http://shop.test/account/"],
            ['href="http://shop.test/account/"', "Update your card"],
        ),
        (
            "subscription_ended",
            "Your Miss MuscleBox subscription has ended",
            ["has ended (4 November 2026)", "http://shop.test/boxes/miss-musclebox"],
            ['href="http://shop.test/boxes/miss-musclebox"', "We won't charge you again."],
        ),
    ],
)
def test_billing_messages(customer, subscription, template, subject, text, html):
    assert send_now(customer.email, template, customer=customer, subscription=subscription)
    (email,) = sent_emails()
    assert email.subject == subject
    for snippet in text:
        assert snippet in email.text_body
    for snippet in html:
        assert snippet in email.html_body
    assert "Hi Jo" in email.text_body and "Hi Jo" in email.html_body


def test_payment_failed_links_to_the_account_url_given(customer, subscription):
    url = "http://shop.test/account/?from=email"
    send_now(
        customer.email,
        "payment_failed",
        customer=customer,
        subscription=subscription,
        account_url=url,
    )
    (email,) = sent_emails()
    assert url in email.text_body
    assert 'href="http://shop.test/account/?from=email"' in email.html_body


def test_the_html_part_is_escaped_and_the_text_part_is_not(app):
    customer = make_customer("tag@example.com", name="<b>Jo</b> & co", line1="1 <i>Tag</i> St")
    box = make_box("mac-and-cheese", "Mac & <Cheese>")
    subscription = make_subscription(customer, make_plan(box))
    send_now(customer.email, "subscription_confirmed", customer=customer, subscription=subscription)
    (email,) = sent_emails()
    assert email.subject == "You're subscribed to Mac & <Cheese>"
    assert "Hi <b>Jo</b>," in email.text_body and "1 <i>Tag</i> St" in email.text_body
    assert "<b>Jo</b>" not in email.html_body and "<i>Tag</i>" not in email.html_body
    assert "&lt;b&gt;Jo&lt;/b&gt;" in email.html_body
    assert "Mac &amp; &lt;Cheese&gt;" in email.html_body


def test_links_use_site_url_not_the_host_header(app, customer, subscription):
    with app.test_request_context("/", base_url="http://evil.example"):
        send_now(customer.email, "payment_failed", customer=customer, subscription=subscription)
    (email,) = sent_emails()
    assert "evil.example" not in email.text_body + email.html_body
    assert "http://shop.test/account/" in email.text_body


def test_a_subject_given_by_the_call_wins_and_stays_on_one_line(customer):
    sign_in_email(customer, subject="Your link\r\nBcc: everyone@example.com")
    (email,) = sent_emails()
    assert email.subject == "Your link Bcc: everyone@example.com"


def test_an_unknown_template_is_an_error_not_an_email(customer):
    with pytest.raises(TemplateNotFound):
        render_email("no_such_message", customer=customer)
    assert sent_emails() == []


def test_production_without_mail_url_sends_nothing_and_says_so(app, customer, shop_log):
    app.config["SHOP_ENV"] = "production"
    assert why_not_sent(customer) == "MAIL_URL is not set"
    assert sent_emails() == [], "a sign-in link must not sit in the database"


# -- SMTP -------------------------------------------------------------------------------------


def test_smtp_delivers_both_parts_with_the_right_headers(app, customer):
    sink = SmtpSink()
    try:
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
        app.config["MAIL_FROM"] = "MuscleBox <hello@musclebox.test>"
        assert sign_in_email(customer) is True
    finally:
        sink.stop()

    (received,) = sink.received
    assert received.mail_from == "hello@musclebox.test"
    assert received.rcpt_to == ["jo@example.com"]
    message = received.message
    assert message["From"] == "MuscleBox <hello@musclebox.test>"
    assert message["To"] == "jo@example.com"
    assert message["Subject"] == "Your MuscleBox sign-in link"
    assert message["Date"] and message["Message-ID"].endswith("@musclebox.test>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and LINK in text.get_content()
    assert html.get_content_type() == "text/html" and f'href="{LINK}"' in html.get_content()
    assert sent_emails() == [], "sent, so not kept in the outbox"


def test_a_refused_connection_says_why_without_the_address_or_the_link(app, customer, shop_log):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{closed_port()}"
    rendered = render_email("sign_in_link", customer=customer, link=LINK, minutes=15)
    with pytest.raises(MailNotSent) as refused:
        deliver_rendered(customer.email, rendered)
    assert str(refused.value).startswith("ConnectionRefusedError")
    assert "jo@example.com" not in str(refused.value) and LINK not in str(refused.value)
    assert "jo@example.com" not in shop_log.text and LINK not in shop_log.text
    assert sent_emails() == []


def test_a_mail_failure_leaves_the_committed_change_standing(app, subscription, customer):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{closed_port()}"
    subscription.status = SubscriptionStatus.PAST_DUE
    db.session.commit()

    assert (
        send_now(customer.email, "payment_failed", customer=customer, subscription=subscription)
        is False
    )

    db.session.expire_all()
    assert subscription.status is SubscriptionStatus.PAST_DUE
    customer.name = "Still usable"
    db.session.commit()
    assert db.session.scalar(select(Customer.name)) == "Still usable"


class FakeSMTP:
    """Stands in for smtplib.SMTP / SMTP_SSL and records what the shop asked of it."""

    instances: list[FakeSMTP] = []
    offers_starttls = True
    refuse_recipient = False

    def __init__(self, host: str, port: int, timeout: float = 0, context: object = None) -> None:
        self.host, self.port, self.timeout, self.context = host, port, timeout, context
        self.calls: list[object] = []
        self.sent: list[object] = []
        type(self).instances.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append("quit")

    def ehlo(self) -> None:
        self.calls.append("ehlo")

    def has_extn(self, name: str) -> bool:
        return name == "starttls" and self.offers_starttls

    def starttls(self, context: object = None) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user, password))

    def send_message(self, message: object) -> None:
        if self.refuse_recipient:
            raise smtplib.SMTPRecipientsRefused(
                {"jo@example.com": (550, b"5.1.1 <jo@example.com>: Recipient address rejected")}
            )
        self.calls.append("send")
        self.sent.append(message)


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    fake = type("Fake", (FakeSMTP,), {"instances": []})
    monkeypatch.setattr(smtplib, "SMTP", fake)
    monkeypatch.setattr(smtplib, "SMTP_SSL", fake)
    return fake  # type: ignore[return-value]


def test_smtp_uses_starttls_before_logging_in(app, customer, fake_smtp):
    app.config["MAIL_URL"] = "smtp://apikey:p%40ss%2Fword@smtp.example.com:587"
    assert sign_in_email(customer) is True
    (server,) = fake_smtp.instances
    assert (server.host, server.port) == ("smtp.example.com", 587)
    assert server.calls == [
        "ehlo",
        "starttls",
        "ehlo",
        ("login", "apikey", "p@ss/word"),
        "send",
        "quit",
    ]


def test_the_password_is_never_sent_without_tls(app, customer, fake_smtp, shop_log):
    fake_smtp.offers_starttls = False
    app.config["MAIL_URL"] = "smtp://apikey:secret@smtp.example.com:587"
    reason = why_not_sent(customer)
    (server,) = fake_smtp.instances
    assert not any(isinstance(call, tuple) for call in server.calls), "no login"
    assert "send" not in server.calls
    assert reason == "InsecureMailServer" and "secret" not in reason


def test_smtps_connects_with_tls_from_the_start(app, customer, fake_smtp):
    app.config["MAIL_URL"] = "smtps://user:pw@smtp.example.com"
    assert sign_in_email(customer) is True
    (server,) = fake_smtp.instances
    assert server.port == 465 and server.context is not None
    assert server.calls == [("login", "user", "pw"), "send", "quit"]


def test_a_refused_recipient_is_logged_without_the_servers_words(
    app, customer, fake_smtp, shop_log
):
    fake_smtp.refuse_recipient = True
    app.config["MAIL_URL"] = "smtp://smtp.example.com"
    assert why_not_sent(customer) == "SMTPRecipientsRefused"
    assert "jo@example.com" not in shop_log.text
