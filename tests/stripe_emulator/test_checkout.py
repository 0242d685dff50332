"""Checkout Sessions through the API and the hosted checkout page."""

from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import (
    DECLINED_CARD,
    LATER_FAILS_CARD,
    event_types,
    make_plan,
    make_session,
    path_of,
    pay,
)


def test_session_shape(stripe_client: stripe.StripeClient, running: RunningEmulator) -> None:
    price = make_plan(stripe_client, amount=11700, count=3)
    session = make_session(stripe_client, price)
    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert session.mode == "subscription" and session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.url.startswith(f"{running.base_url}/c/pay/{session.id}")
    assert session.amount_total == 11700 and session.currency == "aud"
    assert session.client_reference_id == "order-42"
    assert session.metadata["order_id"] == "42"
    assert session.shipping_address_collection.allowed_countries == ["AU", "NZ"]
    assert session.expires_at - session.created == 24 * 3600

    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    assert items.object == "list"
    assert items.data[0].object == "item"
    assert items.data[0].price.id == price.id and items.data[0].quantity == 1
    assert items.data[0].amount_total == 11700

    listed = stripe_client.v1.checkout.sessions.list(params={"status": "open"})
    assert [s.id for s in listed.data] == [session.id]


def test_only_subscription_mode(stripe_client: stripe.StripeClient) -> None:
    price = make_plan(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(stripe_client, price, mode="payment")
    assert info.value.param == "mode"
    assert "mode=subscription" in info.value.user_message


def test_customer_and_customer_email_are_exclusive(stripe_client: stripe.StripeClient) -> None:
    price = make_plan(stripe_client)
    customer = stripe_client.v1.customers.create(params={"email": "a@example.com"})
    with pytest.raises(stripe.InvalidRequestError):
        make_session(stripe_client, price, customer=customer.id, customer_email="b@example.com")
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(stripe_client, price, customer="cus_nope")
    assert info.value.http_status == 404


def test_checkout_page_shows_the_order(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    price = make_plan(stripe_client, name="Keto Box", amount=11700, count=3)
    session = make_session(stripe_client, price, allow_promotion_codes=True)
    page = pages.get(path_of(session.url, running)).get_data(as_text=True)
    assert "Keto Box" in page
    assert "every 3 months" in page
    assert "$117.00 AUD" in page
    assert 'for="card_number"' in page and 'for="email"' in page
    assert 'for="postal_code"' in page
    assert '<option value="NZ"' in page and '<option value="US"' not in page
    assert 'name="promotion_code"' in page
    assert 'href="https://shop.test/boxes"' in page


def test_paying_completes_everything(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    price = make_plan(stripe_client, amount=4500)
    session = make_session(stripe_client, price)
    response = pay(pages, running, session)
    assert response.status_code == 303
    assert response.headers["Location"] == f"https://shop.test/thanks?session_id={session.id}"

    done = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "customer", "line_items"]}
    )
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.url is None
    shipping = done.collected_information.shipping_details
    assert shipping.name == "Jo Citizen"
    assert shipping.address.city == "Sydney" and shipping.address.postal_code == "2000"
    assert shipping.address.country == "AU" and shipping.address.line2 == "Level 2"
    assert done.customer_details.email == "jo@example.com"
    assert isinstance(done.customer, stripe.Customer)
    assert done.customer.email == "jo@example.com"
    assert done.customer.shipping.address.line1 == "1 George St"
    assert done.line_items.data[0].price.id == price.id

    sub = done.subscription
    assert isinstance(sub, stripe.Subscription)
    assert sub.status == "active"
    assert sub.metadata["order_id"] == "42"
    item = sub["items"].data[0]
    assert isinstance(item, stripe.SubscriptionItem)
    assert item.price.id == price.id
    assert item.current_period_end > item.current_period_start

    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert isinstance(invoice, stripe.Invoice)
    assert invoice.status == "paid" and invoice.billing_reason == "subscription_create"
    assert invoice.amount_paid == 4500
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata["order_id"] == "42"
    assert invoice.customer_shipping.address.city == "Sydney"
    assert invoice.status_transitions.paid_at is not None
    assert invoice.payments.data[0].status == "paid"
    line = invoice.lines.data[0]
    assert isinstance(line, stripe.InvoiceLineItem)
    assert line.pricing.price_details.price == price.id
    assert line.period.end == item.current_period_end

    assert event_types(stripe_client)[-9:] == [
        "customer.created",
        "payment_method.attached",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]
    created = stripe_client.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    assert created.data.object.status == "incomplete"
    assert created.data.object.latest_invoice == invoice.id
    activated = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[
        0
    ]
    assert activated.data.previous_attributes["status"] == "incomplete"
    assert activated.data.object.status == "active"
    expanded = stripe_client.v1.invoices.retrieve(
        invoice.id, params={"expand": ["parent.subscription_details.subscription", "customer"]}
    )
    assert expanded.parent.subscription_details.subscription.id == sub.id
    assert expanded.customer.email == "jo@example.com"
    completed = stripe_client.v1.events.list(params={"type": "checkout.session.completed"}).data[0]
    assert completed.data.object.id == session.id
    assert completed.data.object.subscription == sub.id


def test_existing_customer_is_reused_and_email_fixed(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "kim@example.com", "name": "Kim"})
    session = make_session(
        stripe_client,
        make_plan(stripe_client),
        customer=customer.id,
        customer_update={"shipping": "auto", "name": "auto"},
    )
    page = pages.get(path_of(session.url, running)).get_data(as_text=True)
    assert "kim@example.com" in page and 'id="email"' not in page
    assert pay(pages, running, session, email="ignored@example.com").status_code == 303
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert done.customer == customer.id
    assert stripe_client.v1.customers.retrieve(customer.id).shipping.address.city == "Sydney"
    assert len(stripe_client.v1.customers.list().data) == 1
    assert "customer.updated" in event_types(stripe_client)


def test_existing_customer_keeps_their_address_unless_customer_update_allows(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "kim@example.com"})
    session = make_session(stripe_client, make_plan(stripe_client), customer=customer.id)
    assert pay(pages, running, session).status_code == 303
    assert stripe_client.v1.customers.retrieve(customer.id).shipping is None


def test_customer_update_needs_a_customer(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        make_session(stripe_client, make_plan(stripe_client), customer_update={"shipping": "auto"})
    assert error.value.param == "customer_update"


def test_customer_email_prefills(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(
        stripe_client, make_plan(stripe_client), customer_email="pat@example.com"
    )
    assert pay(pages, running, session, email="").status_code == 303
    done = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer"]})
    assert done.customer.email == "pat@example.com"


def test_declined_card_rerenders_with_message(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    response = pay(pages, running, session, DECLINED_CARD)
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "Your card was declined." in page
    assert 'value="1 George St"' in page and 'value="jo@example.com"' in page
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert stripe_client.v1.subscriptions.list(params={"status": "all"}).data == []
    assert stripe_client.v1.customers.list().data == []


def test_card_0341_pays_now(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    assert pay(pages, running, session, LATER_FAILS_CARD).status_code == 303
    sub = stripe_client.v1.subscriptions.retrieve(
        stripe_client.v1.checkout.sessions.retrieve(session.id).subscription
    )
    assert sub.status == "active"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"card_number": "4242 4242 4242 4241"}, "card_number", "Your card number is invalid."),
        ({"card_number": ""}, "card_number", "Your card number is incomplete."),
        ({"card_expiry": "01 / 20"}, "card_expiry", "in the past"),
        ({"card_expiry": "13/40"}, "card_expiry", "month is invalid"),
        ({"card_cvc": "x"}, "card_cvc", "security code"),
        ({"line1": ""}, "line1", "Enter an address."),
        ({"country": "US"}, "country", "Choose a country we ship to."),
        ({"email": "nope"}, "email", "email address is invalid"),
    ],
)
def test_validation_errors(
    stripe_client: stripe.StripeClient,
    pages: Any,
    running: RunningEmulator,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    response = pay(pages, running, session, **overrides)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_junk_post_does_not_500(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client), allow_promotion_codes=True)
    path = path_of(session.url, running)
    for data in (
        {},
        {"card_number": "x" * 5000},
        {"action": "apply_code"},
        {"promotion_code": "💥"},
    ):
        assert pages.post(path, data=data).status_code in (400, 402)
    assert pages.get("/c/pay/cs_test_unknown").status_code == 404


def test_promotion_code_discounts_per_coupon(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    coupon = stripe_client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "FIRSTBOX"}
    )
    price = make_plan(stripe_client, amount=5000)
    session = make_session(stripe_client, price, allow_promotion_codes=True)
    path = path_of(session.url, running)

    bad = pages.post(path, data={"promotion_code": "NOPE", "action": "apply_code"})
    assert bad.status_code == 400 and "This code is invalid." in bad.get_data(as_text=True)
    preview = pages.post(path, data={"promotion_code": "firstbox", "action": "apply_code"})
    assert preview.status_code == 200
    assert "$40.00 AUD" in preview.get_data(as_text=True)

    assert pay(pages, running, session, promotion_code="FIRSTBOX").status_code == 303
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert done.amount_subtotal == 5000 and done.amount_total == 4000
    assert done.total_details.amount_discount == 1000
    assert done.discounts[0].promotion_code is not None
    sub = stripe_client.v1.subscriptions.retrieve(
        done.subscription, params={"expand": ["discounts", "latest_invoice"]}
    )
    assert sub.discounts[0].source.coupon == coupon.id
    assert sub.latest_invoice.total == 4000 and sub.latest_invoice.subtotal == 5000
    assert sub.latest_invoice.total_discount_amounts[0].amount == 1000
    assert stripe_client.v1.coupons.retrieve(coupon.id).times_redeemed == 1

    running.advance(days=32)
    invoices = stripe_client.v1.invoices.list(params={"subscription": sub.id}).data
    assert invoices[0].billing_reason == "subscription_cycle"
    assert invoices[0].total == 5000  # "once" coupons only discount the first invoice


def test_session_discounts_param_repeating_coupon(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    coupon = stripe_client.v1.coupons.create(
        params={
            "amount_off": 500,
            "currency": "aud",
            "duration": "repeating",
            "duration_in_months": 2,
        }
    )
    session = make_session(
        stripe_client, make_plan(stripe_client, amount=3000), discounts=[{"coupon": coupon.id}]
    )
    assert session.amount_total == 2500
    assert pay(pages, running, session).status_code == 303
    sub_id = stripe_client.v1.checkout.sessions.retrieve(session.id).subscription
    running.advance(days=31)
    running.advance(days=31)
    running.advance(days=31)
    totals = [
        i.total
        for i in reversed(stripe_client.v1.invoices.list(params={"subscription": sub_id}).data)
    ]
    assert totals == [2500, 2500, 3000, 3000]


def test_promo_codes_refused_when_not_allowed(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    response = pay(pages, running, session, promotion_code="ANY")
    assert response.status_code == 400


def test_expire_and_pay_expired_session(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert (
        stripe_client.v1.events.list(params={"type": "checkout.session.expired"})
        .data[0]
        .data.object.id
        == session.id
    )
    response = pay(pages, running, session)
    assert response.status_code == 409
    assert "expired" in response.get_data(as_text=True)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)


def test_paying_twice_shows_message(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    assert pay(pages, running, session).status_code == 303
    again = pay(pages, running, session)
    assert again.status_code == 409
    assert "already been paid" in again.get_data(as_text=True)
    assert len(stripe_client.v1.subscriptions.list().data) == 1


def test_sessions_expire_with_the_clock(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client))
    running.advance(days=1, seconds=1)
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_expand_nested_paths(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    session = make_session(stripe_client, make_plan(stripe_client, name="Vegan Box"))
    pay(pages, running, session)
    done = stripe_client.v1.checkout.sessions.retrieve(
        session.id,
        params={"expand": ["subscription.latest_invoice", "line_items.data.price.product"]},
    )
    assert done.subscription.latest_invoice.status == "paid"
    assert done.line_items.data[0].price.product.name == "Vegan Box"
    subs = stripe_client.v1.subscriptions.list(params={"expand": ["data.customer"]})
    assert subs.data[0].customer.email == "jo@example.com"
