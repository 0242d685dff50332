"""The lists the shop reads: invoices of a subscription, a customer's subscriptions, pagination."""

from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import LATER_FAILS_CARD, make_plan, subscribe


def test_paid_invoices_of_a_subscription_page_through_more_than_a_hundred(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, interval="day")
    other = subscribe(stripe_client, pages, running, interval="day")
    stripe_client.v1.subscriptions.cancel(other.id)
    running.advance(days=110)

    params = {"subscription": sub.id, "status": "paid", "limit": 100}
    first = stripe_client.v1.invoices.list(params=params)
    assert len(first.data) == 100 and first.has_more is True
    every = list(stripe_client.v1.invoices.list(params=params).auto_paging_iter())
    assert len(every) == 111 and len({i.id for i in every}) == 111
    assert all(i.status == "paid" for i in every)
    assert {i.parent.subscription_details.subscription for i in every} == {sub.id}
    created = [i.created for i in every]
    assert created == sorted(created, reverse=True)

    page = stripe_client.v1.invoices.list(params={**params, "limit": 3})
    after = stripe_client.v1.invoices.list(
        params={**params, "limit": 3, "starting_after": page.data[-1].id}
    )
    assert [i.id for i in after.data] == [i.id for i in every[3:6]]
    assert after.has_more is True


def test_invoice_status_filter_and_bad_status(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, card=LATER_FAILS_CARD)
    running.advance(days=32)
    open_ones = stripe_client.v1.invoices.list(params={"subscription": sub.id, "status": "open"})
    paid = stripe_client.v1.invoices.list(params={"subscription": sub.id, "status": "paid"})
    assert [i.billing_reason for i in open_ones.data] == ["subscription_cycle"]
    assert [i.billing_reason for i in paid.data] == ["subscription_create"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.invoices.list(params={"status": "settled"})
    assert info.value.param == "status"


def test_all_subscriptions_of_a_customer(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "jo@example.com"})
    stranger = stripe_client.v1.customers.create(params={"email": "sam@example.com"})
    price = make_plan(stripe_client)

    def create(who: stripe.Customer) -> stripe.Subscription:
        return stripe_client.v1.subscriptions.create(
            params={
                "customer": who.id,
                "items": [{"price": price.id}],
                "default_payment_method": "pm_card_visa",
            }
        )

    ended = create(customer)
    stripe_client.v1.subscriptions.cancel(ended.id)
    live = create(customer)
    create(stranger)

    every = stripe_client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"})
    assert [s.id for s in every.data] == [live.id, ended.id]
    current = stripe_client.v1.subscriptions.list(params={"customer": customer.id})
    assert [s.id for s in current.data] == [live.id]
    paged = stripe_client.v1.subscriptions.list(
        params={"customer": customer.id, "status": "all", "limit": 1}
    )
    assert paged.has_more is True
    assert [s.id for s in paged.auto_paging_iter()] == [live.id, ended.id]
