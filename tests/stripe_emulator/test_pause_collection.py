"""``pause_collection`` with ``resumes_at``: the shop's "skip next month's box".

The shop skips one month of a monthly subscription with ``pause_collection={behavior: void,
resumes_at: current_period_end + 1 day}``: that renewal's invoice is voided (no charge), the pause
lifts a day later, and the renewal after is charged as usual.
"""

from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import event_types, subscribe

DAY = 86400


def skip_next_month(
    stripe_client: stripe.StripeClient, sub: stripe.Subscription
) -> stripe.Subscription:
    period_end = sub["items"].data[0].current_period_end
    return stripe_client.v1.subscriptions.update(
        sub.id,
        params={"pause_collection": {"behavior": "void", "resumes_at": period_end + DAY}},
    )


def advance_to(running: RunningEmulator, timestamp: int) -> None:
    running.advance(seconds=timestamp - running.emulator.now())


def invoices_of(stripe_client: stripe.StripeClient, sub: stripe.Subscription) -> list[Any]:
    """The subscription's invoices, oldest first."""
    return list(reversed(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data))


def test_skipped_month_is_voided_then_the_pause_lifts_then_renewals_charge(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, amount=4500)
    first_end = sub["items"].data[0].current_period_end
    paused = skip_next_month(stripe_client, sub)
    assert paused.pause_collection.behavior == "void"
    assert paused.pause_collection.resumes_at == first_end + DAY
    before = len(event_types(stripe_client))

    advance_to(running, first_end + 60)
    skipped = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert skipped.status == "active"
    assert skipped["items"].data[0].current_period_start == first_end
    assert skipped.latest_invoice.status == "void"
    assert skipped.latest_invoice.billing_reason == "subscription_cycle"
    assert skipped.latest_invoice.amount_paid == 0
    assert skipped.pause_collection.resumes_at == first_end + DAY
    assert event_types(stripe_client)[before:] == [
        "invoice.created",
        "customer.subscription.updated",
        "invoice.finalized",
        "invoice.voided",
    ]

    advance_to(running, first_end + DAY + 60)
    resumed = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert resumed.pause_collection is None and resumed.status == "active"
    lifted = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert lifted.created == first_end + DAY
    assert lifted.data.object.pause_collection is None
    assert lifted.data.previous_attributes["pause_collection"].to_dict() == {
        "behavior": "void",
        "resumes_at": first_end + DAY,
    }

    second_end = skipped["items"].data[0].current_period_end
    advance_to(running, second_end + 60)
    charged = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert charged.latest_invoice.status == "paid"
    assert charged.latest_invoice.amount_paid == 4500
    assert [i.status for i in invoices_of(stripe_client, sub)] == ["paid", "void", "paid"]
    assert len(stripe_client.v1.events.list(params={"type": "invoice.paid"}).data) == 2


def test_one_long_advance_handles_the_renewal_the_lift_and_the_next_renewal_in_order(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    first_end = sub["items"].data[0].current_period_end
    skip_next_month(stripe_client, sub)
    before = len(event_types(stripe_client))

    running.advance(days=65)
    assert [i.status for i in invoices_of(stripe_client, sub)] == ["paid", "void", "paid"]
    types = event_types(stripe_client)[before:]
    voided = types.index("invoice.voided")
    paid = types.index("invoice.paid")
    lifted = types.index("customer.subscription.updated", voided)
    assert voided < lifted < paid
    events = stripe_client.v1.events.list(params={"limit": 100}).data
    assert [e.created for e in reversed(events)] == sorted(e.created for e in events)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).pause_collection is None
    voided_invoice = stripe_client.v1.events.list(params={"type": "invoice.voided"}).data[0]
    assert voided_invoice.data.object.period_end == first_end


def test_unsetting_the_pause_before_the_renewal_undoes_the_skip(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    first_end = sub["items"].data[0].current_period_end
    skip_next_month(stripe_client, sub)
    undone = stripe_client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert undone.pause_collection is None
    event = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["pause_collection"]["behavior"] == "void"
    updates = len(
        stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data
    )

    advance_to(running, first_end + DAY + 60)
    assert [i.status for i in invoices_of(stripe_client, sub)] == ["paid", "paid"]
    assert stripe_client.v1.events.list(params={"type": "invoice.voided"}).data == []
    # Only the renewal's own update: nothing is left to lift at the old resumes_at.
    assert (
        len(stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data)
        == updates + 1
    )


def test_a_pause_without_resumes_at_stays_until_unset(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    stripe_client.v1.subscriptions.update(sub.id, params={"pause_collection": {"behavior": "void"}})
    running.advance(days=65)
    assert [i.status for i in invoices_of(stripe_client, sub)] == ["paid", "void", "void"]
    assert stripe_client.v1.subscriptions.retrieve(sub.id).pause_collection.behavior == "void"


def test_resumes_at_must_be_a_future_time(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    for resumes_at in (str(running.emulator.now() - DAY), "soon"):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.subscriptions.update(
                sub.id,
                params={"pause_collection": {"behavior": "void", "resumes_at": resumes_at}},
            )
        assert info.value.param == "pause_collection[resumes_at]"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).pause_collection is None


def test_a_pause_ending_exactly_at_the_period_end_does_not_void_that_renewal(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    first_end = sub["items"].data[0].current_period_end
    stripe_client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": "void", "resumes_at": first_end}}
    )
    advance_to(running, first_end + 60)
    assert [i.status for i in invoices_of(stripe_client, sub)] == ["paid", "paid"]
    assert stripe_client.v1.subscriptions.retrieve(sub.id).pause_collection is None
