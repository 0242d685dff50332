"""Logs hold no personal data, capability URL or secret, whatever the log levels are.

Every logger is turned up to DEBUG (SQLAlchemy's engine, werkzeug and the stripe library too)
while real journeys run: a box bought through Stripe Checkout and its webhooks, a sign-in by
emailed link, a changed address, a comment, an admin's wrong and then right password. Then
the captured text is searched for everything that must never be in it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from shop.billing.gateway import gateway
from shop.catalog.services import sync_catalogue
from shop.demo import seed_demo
from shop.logs import RedactedRequestHandler, redact_path
from shop.stripe_emulator.testing import RunningEmulator
from tests.accounts.conftest import emailed_link_path, request_link
from tests.billing.conftest import WEBHOOK_SECRET, buy, deliver
from tests.builders.content import make_admin, make_article
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SETTINGS
from tests.helpers import csrf_token, post_comment, shop_on_emulator

EMAIL = "beatrice.quokka@example.com"
NAME = "Beatrice Quokka"
STREET = "77 Wombat Way"
NEW_STREET = "9 Numbat Parade"
WRONG_PASSWORD = "hunter2 but much longer"
LOUD_LOGGERS = (
    "",
    "shop",
    "sqlalchemy",
    "sqlalchemy.engine",
    "werkzeug",
    "stripe",
    "urllib3",
    "flask",
)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def every_log() -> Iterator[Capture]:
    """Everything logged anywhere, at DEBUG; the levels are put back afterwards."""
    capture = Capture()
    root = logging.getLogger()
    before = {name: logging.getLogger(name).level for name in LOUD_LOGGERS}
    for name in LOUD_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    return shop_on_emulator(stripe_emulator, CUSTOMER_LOGIN_RATE_LIMIT="1000 per minute")


def leaks(text: str, secrets: dict[str, str]) -> dict[str, int]:
    """How often each secret (by its name) appears in `text`, case-insensitively."""
    lowered = text.lower()
    return {name: lowered.count(value.lower()) for name, value in secrets.items()}


def test_journeys_log_no_personal_data_capability_or_secret(
    show, app: Flask, client: FlaskClient, stripe_emulator: RunningEmulator, every_log: Capture
) -> None:
    seed_demo()
    sync_catalogue(gateway())
    pages = stripe_emulator.app.test_client()

    # A box bought through Stripe Checkout; the webhooks delivered and applied.
    success = buy(
        client,
        pages,
        stripe_emulator,
        email=EMAIL,
        card_name=NAME,
        shipping_name=NAME,
        line1=STREET,
    )
    session_id = success.split("session_id=", 1)[1]
    assert session_id.startswith("cs_test_")
    deliveries = deliver(stripe_emulator, client)
    assert deliveries and all(status == 200 for _, status in deliveries), deliveries
    assert client.get(success).status_code == 200

    # Signed in by the emailed link.
    browser = app.test_client()
    assert request_link(browser, EMAIL).status_code == 303
    link = emailed_link_path(EMAIL)
    token = link.rsplit("/", 1)[1]
    assert browser.get(link).status_code == 200
    assert browser.post(link, data={"csrf_token": csrf_token(browser, link)}).status_code == 303
    assert browser.get("/account/").status_code == 200

    # A new address (it goes to Stripe too).
    moved = browser.post(
        "/account/address",
        data={
            "name": NAME,
            "line1": NEW_STREET,
            "line2": "",
            "city": "Newtown",
            "state": "NSW",
            "postal_code": "2042",
            "csrf_token": csrf_token(browser, "/account/address"),
        },
    )
    assert moved.status_code == 303, moved.get_data(as_text=True)

    # A comment under the customer's name and email.
    make_article("lift-well")
    commented = post_comment(browser, "lift-well", author=NAME, email=EMAIL)
    assert commented.status_code in (302, 303), commented.get_data(as_text=True)

    # An admin's wrong password, then the right one.
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    admin = app.test_client()
    for password, status in ((WRONG_PASSWORD, 200), (ADMIN_PASSWORD, 303)):
        response = admin.post(
            "/admin/login",
            data={
                "email": ADMIN_EMAIL,
                "password": password,
                "csrf_token": csrf_token(admin, "/admin/login"),
            },
        )
        assert response.status_code == status
    assert admin.get("/admin/comments").status_code == 200

    secrets = {
        "the customer's email": EMAIL,
        "the customer's name": NAME,
        "the customer's street address": STREET,
        "the customer's new street address": NEW_STREET,
        "the checkout session id": session_id,
        "the sign-in token": token,
        "SECRET_KEY": str(TEST_SETTINGS["SECRET_KEY"]),
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "the webhook secret": WEBHOOK_SECRET,
        "the admin's password": ADMIN_PASSWORD,
        "a wrong admin password": WRONG_PASSWORD,
    }
    counts = leaks(every_log.text, secrets)
    loggers = sorted({line.split(":", 1)[0].split(" ", 1)[1] for line in every_log.lines})
    show(f"captured {len(every_log.lines)} log records from {len(loggers)} loggers: {loggers}")
    for name, count in counts.items():
        show(f"  {count} × {name}")
    # The capture really was at DEBUG everywhere (else finding nothing would prove nothing).
    assert any(line.startswith("INFO sqlalchemy.engine") for line in every_log.lines)
    assert any("[SQL parameters hidden" in line for line in every_log.lines)
    assert any(line.startswith("INFO stripe") for line in every_log.lines)
    leaked = [name for name, count in counts.items() if count]
    assert not leaked, f"the logs hold {', '.join(leaked)}"


def test_the_development_servers_access_log_holds_no_token_or_query(
    show, app: Flask, every_log: Capture
) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RedactedRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = "Zm9yZ2VkLXNpZ24taW4tdG9rZW4tdGhhdC1pcy1sb25n"
    session_id = "cs_test_a1B2c3D4e5F6g7H8"
    try:
        for path in (f"/account/login/{token}", f"/checkout/success?session_id={session_id}"):
            # An unknown link or session: its status is not the point.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=5)
    finally:
        server.shutdown()
    access = [line for line in every_log.lines if line.startswith("INFO werkzeug")]
    show(f"captured {len(access)} access log lines")
    assert len(access) == 2, access
    assert "/account/login/[redacted] HTTP/1.1" in access[0]
    assert "/checkout/success HTTP/1.1" in access[1]
    assert token not in every_log.text and session_id not in every_log.text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/account/login/abc-DEF_123", "/account/login/[redacted]"),
        ("/account/login/check-email", "/account/login/check-email"),
        ("/checkout/success?session_id=cs_test_1", "/checkout/success"),
        ("/admin/login?next=/admin/comments", "/admin/login"),
        ("/blog/lift-well", "/blog/lift-well"),
    ],
)
def test_request_paths_are_redacted_for_logs(path: str, logged: str) -> None:
    assert redact_path(path) == logged
