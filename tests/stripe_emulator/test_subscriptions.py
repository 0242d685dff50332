"""Subscription API changes and the clock: renewals, dunning, cancellation, pause."""

from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import LATER_FAILS_CARD, event_types, make_plan, subscribe

DAY = 86400


def test_renewal_is_billed_and_paid(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, amount=4500)
    first_end = sub["items"].data[0].current_period_end
    before = len(event_types(stripe_client))
    result = running.advance(days=31)
    assert result["processed"] == 1
    renewed = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    item = renewed["items"].data[0]
    assert item.current_period_start == first_end
    assert item.current_period_end > first_end
    invoice = renewed.latest_invoice
    assert invoice.billing_reason == "subscription_cycle"
    assert invoice.status == "paid" and invoice.amount_paid == 4500
    assert invoice.lines.data[0].period.start == first_end
    assert event_types(stripe_client)[before:] == [
        "invoice.created",
        "customer.subscription.updated",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    updated = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert updated.data.previous_attributes["items"]["data"][0]["current_period_end"] == first_end


def test_clock_endpoint_and_monotonic_events(
    running: RunningEmulator, stripe_client: stripe.StripeClient
) -> None:
    pages = running.app.test_client()
    start = pages.get("/_emulator/clock").get_json()["now"]
    result = pages.post("/_emulator/clock/advance", data={"days": "2"}).get_json()
    assert result["now"] >= start + 2 * DAY
    assert pages.get("/_emulator/clock").get_json()["now"] >= start + 2 * DAY
    assert pages.post("/_emulator/clock/advance", json={"seconds": -5}).status_code == 400
    assert pages.post("/_emulator/clock/advance", data={"days": "soon"}).status_code == 400
    stripe_client.v1.products.create(params={"name": "later"})
    assert stripe_client.v1.events.list().data[0].created >= start + 2 * DAY


def test_several_periods_in_one_advance(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, interval="week")
    running.advance(days=22)
    invoices = stripe_client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle"] * 3 + [
        "subscription_create"
    ]
    created = [i.created for i in reversed(invoices)]
    assert created == sorted(created) and len(set(created)) == 4
    events = stripe_client.v1.events.list(params={"limit": 100}).data
    stamps = [e.created for e in reversed(events)]
    assert stamps == sorted(stamps)


def test_failing_card_goes_past_due_then_retries_then_cancels(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, card=LATER_FAILS_CARD)
    running.advance(days=31)
    late = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert late.status == "past_due"
    invoice = late.latest_invoice
    assert invoice.status == "open" and invoice.attempt_count == 1
    assert invoice.next_payment_attempt == invoice.created + 3 * DAY
    failed = stripe_client.v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert len(failed) == 1

    running.advance(days=3)
    assert stripe_client.v1.invoices.retrieve(invoice.id).attempt_count == 2
    running.advance(days=2)
    assert stripe_client.v1.invoices.retrieve(invoice.id).attempt_count == 3
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    running.advance(days=2)
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_failed"
    assert len(stripe_client.v1.events.list(params={"type": "invoice.payment_failed"}).data) == 4
    assert (
        stripe_client.v1.events.list(params={"type": "customer.subscription.deleted"})
        .data[0]
        .data.object.id
        == sub.id
    )
    assert stripe_client.v1.invoices.retrieve(invoice.id).next_payment_attempt is None
    running.advance(days=60)
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 2


def test_cancel_at_period_end_ends_with_the_period(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    updated = stripe_client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True
    running.advance(days=10)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
    running.advance(days=25)
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == sub["items"].data[0].current_period_end
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    assert "customer.subscription.deleted" in event_types(stripe_client)


def test_api_cancel_and_metadata(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    updated = stripe_client.v1.subscriptions.update(sub.id, params={"metadata": {"note": "vip"}})
    assert updated.metadata["note"] == "vip" and updated.metadata["order_id"] == "42"
    canceled = stripe_client.v1.subscriptions.cancel(sub.id)
    assert isinstance(canceled, stripe.Subscription)
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.cancel(sub.id)


def test_api_price_change(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, amount=4500)
    item = sub["items"].data[0]
    bigger = make_plan(stripe_client, product=item.price.product, amount=6000)
    changed = stripe_client.v1.subscriptions.update(
        sub.id,
        params={"items": [{"id": item.id, "price": bigger.id}], "proration_behavior": "none"},
    )
    assert changed["items"].data[0].price.id == bigger.id
    assert changed["items"].data[0].plan.amount == 6000
    running.advance(days=32)
    latest = stripe_client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert latest.total == 6000
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": item.id, "price": "price_nope"}]}
        )
    assert info.value.http_status == 404


def test_pause_collection_voids_renewals_then_resumes(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    paused = stripe_client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": "void"}}
    )
    assert paused.pause_collection.behavior == "void"
    running.advance(days=32)
    assert stripe_client.v1.invoices.list(params={"subscription": sub.id}).data[0].status == "void"
    resumed = stripe_client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert resumed.pause_collection is None
    running.advance(days=31)
    assert stripe_client.v1.invoices.list(params={"subscription": sub.id}).data[0].status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.update(
            sub.id, params={"pause_collection": {"behavior": "sleep"}}
        )


def test_pause_and_resume_status(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    paused = stripe_client.v1.subscriptions.pause(sub.id, params={"type": "subscription"})
    assert paused.status == "paused"
    running.advance(days=40)
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    resumed = stripe_client.v1.subscriptions.resume(sub.id)
    assert resumed.status == "active"
    assert resumed["items"].data[0].current_period_start >= sub["items"].data[0].current_period_end
    types = event_types(stripe_client)
    assert "customer.subscription.paused" in types and "customer.subscription.resumed" in types
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 2


def test_list_filters(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    first = subscribe(stripe_client, pages, running)
    second = subscribe(stripe_client, pages, running)
    stripe_client.v1.subscriptions.cancel(second.id)
    assert [s.id for s in stripe_client.v1.subscriptions.list().data] == [first.id]
    assert [
        s.id for s in stripe_client.v1.subscriptions.list(params={"status": "canceled"}).data
    ] == [second.id]
    assert len(stripe_client.v1.subscriptions.list(params={"status": "all"}).data) == 2
    assert [
        s.id for s in stripe_client.v1.subscriptions.list(params={"customer": first.customer}).data
    ] == [first.id]
    invoices = stripe_client.v1.invoices.list(params={"customer": first.customer}).data
    assert [i.parent.subscription_details.subscription for i in invoices] == [first.id]
    lines = stripe_client.v1.invoices.line_items.list(invoices[0].id)
    assert lines.data[0].subscription == first.id
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.list(params={"status": "sleeping"})


def test_create_subscription_via_api(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    price = make_plan(stripe_client, amount=3000)
    customer = stripe_client.v1.customers.create(params={"email": "api@example.com"})
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
            "metadata": {"source": "api"},
        }
    )
    assert isinstance(sub, stripe.Subscription)
    assert sub.status == "active" and sub.metadata["source"] == "api"
    assert stripe_client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"

    without_card = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    assert without_card.status == "incomplete"

    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price.id}],
                "default_payment_method": "pm_card_chargeDeclined",
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert info.value.http_status == 402 and info.value.code == "card_declined"
    assert len(stripe_client.v1.subscriptions.list(params={"status": "all"}).data) == 2


def test_customer_expand_subscriptions(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    customer = stripe_client.v1.customers.retrieve(
        sub.customer, params={"expand": ["subscriptions"]}
    )
    assert [s.id for s in customer.subscriptions.data] == [sub.id]


def test_month_end_anchor_does_not_drift() -> None:
    """Subscribed on 31 January: renewals fall on 28 Feb, then 31 Mar, then 30 Apr."""
    import datetime as dt

    from shop.stripe_emulator.billing.renewals import next_period_end

    anchor = int(dt.datetime(2027, 1, 31, 9, tzinfo=dt.UTC).timestamp())
    ends = []
    now = anchor
    for _ in range(3):
        now = next_period_end(anchor, "month", 1, now)
        ends.append(dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat())
    assert ends == ["2027-02-28", "2027-03-31", "2027-04-30"]


def test_events_keep_the_price_as_it_was(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    price_id = sub["items"].data[0].price.id
    stripe_client.v1.prices.update(price_id, params={"active": False, "nickname": "renamed"})
    created = stripe_client.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    price = created.data.object["items"].data[0].price
    assert price.active is True and price.nickname is None


def test_api_subscription_on_a_price_the_shop_never_sold_emits_its_events(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    foreign = stripe_client.v1.prices.create(
        params={
            "currency": "aud",
            "unit_amount": 999,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Someone else's thing"},
        }
    )
    customer = stripe_client.v1.customers.create(params={"email": "other@example.com"})
    before = len(event_types(stripe_client))
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": foreign.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    assert sub.status == "active" and sub.default_payment_method.startswith("pm_")
    assert event_types(stripe_client)[before:] == [
        "payment_method.attached",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    paid = stripe_client.v1.events.list(params={"type": "invoice.paid"}).data[0].data.object
    assert paid.parent.subscription_details.subscription == sub.id
    assert paid.lines.data[0].pricing.price_details.price == foreign.id
    assert paid.amount_paid == 999 and paid.billing_reason == "subscription_create"
    created = stripe_client.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    assert created.data.object["items"].data[0].price.id == foreign.id

    running.advance(days=32)
    renewal = stripe_client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
