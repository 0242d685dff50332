"""Fixtures for the Stripe emulator tests: a fresh emulator per test on a free local port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

GOOD_CARD = "4242 4242 4242 4242"
LATER_FAILS_CARD = "4000 0000 0000 0341"
DECLINED_CARD = "4000 0000 0000 0002"


@pytest.fixture
def running() -> Iterator[RunningEmulator]:
    emulator = RunningEmulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def stripe_client(running: RunningEmulator) -> stripe.StripeClient:
    """A real StripeClient pointed at the emulator (named so the shop's ``client`` stays free)."""
    return running.client()


@pytest.fixture
def pages(running: RunningEmulator) -> Any:
    """A Flask test client for the hosted pages."""
    return running.app.test_client()


def make_plan(
    client: stripe.StripeClient,
    *,
    name: str = "Protein Box",
    amount: int = 4500,
    interval: str = "month",
    count: int = 1,
    lookup_key: str | None = None,
    product: str | None = None,
) -> stripe.Price:
    """A product (unless given) with one recurring AUD price."""
    params: dict[str, Any] = {
        "currency": "aud",
        "unit_amount": amount,
        "recurring": {"interval": interval, "interval_count": count},
    }
    if product:
        params["product"] = product
    else:
        params["product_data"] = {"name": name}
    if lookup_key:
        params["lookup_key"] = lookup_key
    return client.v1.prices.create(params=params)


def make_session(
    client: stripe.StripeClient, price: stripe.Price, **extra: Any
) -> stripe.checkout.Session:
    """A subscription-mode Checkout Session collecting an Australian address."""
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "https://shop.test/thanks?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.test/boxes",
        "client_reference_id": "order-42",
        "metadata": {"order_id": "42"},
        "subscription_data": {"metadata": {"order_id": "42"}},
        "shipping_address_collection": {"allowed_countries": ["AU", "NZ"]},
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


def card_form(card: str = GOOD_CARD, **overrides: str) -> dict[str, str]:
    form = {
        "email": "jo@example.com",
        "card_number": card,
        "card_expiry": "12 / 34",
        "card_cvc": "123",
        "card_name": "Jo Citizen",
        "shipping_name": "Jo Citizen",
        "line1": "1 George St",
        "line2": "Level 2",
        "city": "Sydney",
        "state": "NSW",
        "postal_code": "2000",
        "country": "AU",
        "action": "pay",
    }
    form.update(overrides)
    return form


def path_of(url: str, running: RunningEmulator) -> str:
    assert url.startswith(running.base_url)
    return url[len(running.base_url) :]


def pay(
    pages: Any,
    running: RunningEmulator,
    session: stripe.checkout.Session,
    card: str = GOOD_CARD,
    **overrides: str,
) -> Any:
    """Submit the hosted checkout page."""
    return pages.post(path_of(session.url, running), data=card_form(card, **overrides))


def subscribe(
    client: stripe.StripeClient,
    pages: Any,
    running: RunningEmulator,
    card: str = GOOD_CARD,
    **plan: Any,
) -> stripe.Subscription:
    """Create a plan, pay a session for it and return the subscription."""
    price = make_plan(client, **plan)
    session = make_session(client, price)
    response = pay(pages, running, session, card)
    assert response.status_code == 303, response.get_data(as_text=True)
    session = client.v1.checkout.sessions.retrieve(session.id)
    return client.v1.subscriptions.retrieve(session.subscription)


def event_types(client: stripe.StripeClient) -> list[str]:
    """All event types, oldest first."""
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


class Receiver:
    """A tiny local webhook receiver: answers with the queued statuses, then 200."""

    def __init__(self, statuses: list[int] | None = None, port: int = 0) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                receiver.requests.append(
                    {
                        "body": body,
                        "signature": self.headers.get("Stripe-Signature"),
                        "path": self.path,
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    try:
        yield rec
    finally:
        rec.stop()
