"""Concurrent webhook deliveries leave exactly one correct result (PostgreSQL row locks)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from shop.accounts.models import Customer
from shop.billing.models import CalendarBox, EventOutcome, Invoice, Subscription, WebhookEvent
from shop.extensions import db
from tests.billing.conftest import buy
from tests.billing.test_webhooks import sign
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="needs PostgreSQL: SQLite has a single writer, so there is no concurrency to test",
)


def _post_all_at_once(app, payloads: list[bytes]) -> list[int]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(payload: bytes) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": sign(payload)}
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _purchase_events(stripe_emulator) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    events = stripe_emulator.client().v1.events.list(params={"limit": 100}).data
    return {e.type: json.dumps(e.to_dict(for_json=True)).encode() for e in events}


def test_same_event_delivered_by_many_workers_at_once(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)
    paid = _purchase_events(stripe_emulator)["invoice.paid"]
    statuses = _post_all_at_once(app, [paid] * 6)
    assert statuses == [200] * 6
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 3
    assert db.session.scalar(select(func.count(Invoice.id))) == 1
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_all_events_of_one_subscription_at_once(app, client, pages, stripe_emulator, catalogue):
    buy(client, pages, stripe_emulator)
    events = _purchase_events(stripe_emulator)
    wanted = [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.created",
    ]
    payloads = [events[name] for name in wanted if name in events] * 2
    statuses = _post_all_at_once(app, payloads)
    assert statuses == [200] * len(payloads), statuses
    assert db.session.scalar(select(func.count(Customer.id))) == 1
    subscription = db.session.scalar(select(Subscription))
    assert subscription.status.value == "active"
    assert subscription.customer.shipping_city == "Sydney"
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 3
    outcomes = set(db.session.scalars(select(WebhookEvent.outcome)))
    assert outcomes <= {EventOutcome.PROCESSED, EventOutcome.IGNORED}


def test_two_first_events_for_one_email_at_the_same_moment_make_one_account(
    app, client, pages, stripe_emulator, catalogue
):
    # The same person buys twice while signed out: two Stripe customers, one email.
    buy(client, pages, stripe_emulator, "musclebox", 1)
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 3)
    events = stripe_emulator.client().v1.events.list(params={"limit": 100}).data
    created = [
        json.dumps(e.to_dict(for_json=True)).encode()
        for e in events
        if e.type == "customer.subscription.created"
    ]
    assert len(created) == 2
    statuses = _post_all_at_once(app, created * 2)
    assert statuses == [200] * 4, statuses
    assert db.session.scalar(select(func.count(Customer.id))) == 1
    owners = set(db.session.scalars(select(Subscription.customer_id)))
    assert len(owners) == 1 and db.session.scalar(select(func.count(Subscription.id))) == 2


def test_two_shipping_runs_of_one_month_at_once_make_one_shipment_per_box(
    app, client, pages, stripe_emulator, catalogue
):
    from shop.billing.calendar import current_month
    from shop.billing.models import Shipment
    from shop.billing.shipping import run_shipping
    from tests.builders.billing import make_plan, subscriber

    plan = make_plan(term_months=1)
    month = current_month()
    for n in range(20):
        subscriber(f"Runner {n}", plan, month)
    barrier = threading.Barrier(3)
    created: list[int] = []

    def run() -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            created.append(run_shipping(month).created)
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(created) == [0, 0, 20]
    assert db.session.scalar(select(func.count(Shipment.id))) == 20
