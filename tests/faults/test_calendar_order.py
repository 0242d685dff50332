"""Found by the webhook storm: a subscription's box calendar followed the order its
`invoice.paid` events were applied in, not the order its periods were paid in.

`calendar.grant_boxes` places a newly paid period after the subscription's latest box. So when a
later period's invoice was applied before an earlier one's — Stripe does not promise order; an
event that failed for good and is processed again by an admin after the next renewal; a backlog
after an outage — the earlier period's boxes went after the later period's, months late (a year
for a 12-month term), leaving a gap where that period was; reconcile, which only grants what is
missing, did not repair it. Now a paid invoice first grants the boxes of the invoices paid before
it (`invoices.grant_earlier_paid_periods`).

The smallest case: one monthly subscription, two paid invoices, delivered newest first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import current_app
from sqlalchemy import select

from shop.billing.calendar import months_for_period, ship_months_of
from shop.billing.gateway import gateway
from shop.billing.models import Subscription
from shop.catalog.services import sync_catalogue
from shop.dates import shop_timezone
from shop.demo import seed_demo
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from shop.stripe_emulator.webhooks import delivery_headers

SECRET = "whsec_calendar_order"


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    # No webhook endpoint: the test delivers the events itself, in the order it chooses.
    return {
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "STRIPE_API_BASE": stripe_emulator.base_url,
        "STRIPE_WEBHOOK_SECRET": (SECRET,),
    }


def paid_twice(stripe_emulator: RunningEmulator) -> str:
    """A monthly subscription whose first and second invoices are paid; its id."""
    seed_demo()
    sync_catalogue(gateway())
    client = stripe_emulator.client()
    price = client.v1.prices.list(params={"lookup_keys": ["musclebox-1m"]}).data[0]
    customer = client.v1.customers.create(params={"email": "ori@example.com", "name": "Ori"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    stripe_emulator.advance(days=32)
    return sub.id


def paid_events(stripe_emulator: RunningEmulator) -> list[dict]:
    events = [
        stripe_emulator.emulator.render(event)
        for event in stripe_emulator.emulator.ordered("events")
        if event["type"] == "invoice.paid"
    ]
    assert len(events) == 2
    return sorted(
        events, key=lambda event: event["data"]["object"]["status_transitions"]["paid_at"]
    )


def in_paid_order(events: list[dict]) -> list[str]:
    """The ship months the calendar's rule gives when the invoices are applied as paid."""
    months: list[str] = []
    for event in events:
        paid_at = datetime.fromtimestamp(
            event["data"]["object"]["status_transitions"]["paid_at"], UTC
        )
        last = months[-1] if months else None
        months += months_for_period(
            last, paid_at, 1, current_app.config["SHIPPING_CUTOFF_DAY"], shop_timezone()
        )
    return months


def post(client, event: dict) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(event)
    response = client.post("/webhooks/stripe", data=body, headers=delivery_headers(body, SECRET))
    assert response.status_code == 200


def shop_months(sub_id: str) -> list[str]:
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.stripe_subscription_id == sub_id)
    )
    assert subscription is not None
    return ship_months_of(subscription)


def test_invoices_paid_in_order_ship_in_consecutive_months(app, client, stripe_emulator):
    sub_id = paid_twice(stripe_emulator)
    events = paid_events(stripe_emulator)
    for event in events:
        post(client, event)
    assert shop_months(sub_id) == in_paid_order(events)


def test_invoices_applied_newest_first_still_ship_in_the_months_they_paid_for(
    app, client, stripe_emulator
):
    sub_id = paid_twice(stripe_emulator)
    events = paid_events(stripe_emulator)
    for event in reversed(events):
        post(client, event)
    assert shop_months(sub_id) == in_paid_order(events)
