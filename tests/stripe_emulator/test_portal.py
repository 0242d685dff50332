"""The billing portal: sessions through the API, actions through the hosted page."""

from typing import Any

import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import DECLINED_CARD, GOOD_CARD, LATER_FAILS_CARD, make_plan, path_of, subscribe


def portal(
    stripe_client: stripe.StripeClient, sub: stripe.Subscription
) -> stripe.billing_portal.Session:
    return stripe_client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "return_url": "https://shop.test/account"}
    )


def test_portal_session_and_page(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, name="Paleo Box")
    session = portal(stripe_client, sub)
    assert isinstance(session, stripe.billing_portal.Session)
    assert session.id.startswith("bps_") and session.customer == sub.customer
    assert session.url.startswith(running.base_url)
    page = pages.get(path_of(session.url, running)).get_data(as_text=True)
    assert "Paleo Box" in page
    assert 'href="https://shop.test/account"' in page
    assert "ending in 4242" in page
    assert pages.get("/p/session/bps_unknown").status_code == 404


def test_cancel_at_period_end_and_undo(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    path = path_of(portal(stripe_client, sub).url, running)
    response = pages.post(f"{path}/subscriptions/{sub.id}/cancel", data={"when": "period_end"})
    assert response.status_code == 303
    assert "will end" in pages.get(response.headers["Location"]).get_data(as_text=True)
    pending = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert pending.cancel_at_period_end is True and pending.status == "active"
    assert pending.cancel_at == pending["items"].data[0].current_period_end
    event = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["cancel_at_period_end"] is False

    assert pages.post(f"{path}/subscriptions/{sub.id}/renew").status_code == 303
    resumed = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert resumed.cancel_at_period_end is False and resumed.cancel_at is None


def test_cancel_now(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    path = path_of(portal(stripe_client, sub).url, running)
    assert (
        pages.post(f"{path}/subscriptions/{sub.id}/cancel", data={"when": "now"}).status_code == 303
    )
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at is not None
    deleted = stripe_client.v1.events.list(params={"type": "customer.subscription.deleted"}).data[0]
    assert deleted.data.object.id == sub.id
    assert stripe_client.v1.subscriptions.list(params={"customer": sub.customer}).data == []
    assert (
        len(
            stripe_client.v1.subscriptions.list(
                params={"customer": sub.customer, "status": "all"}
            ).data
        )
        == 1
    )
    assert (
        pages.post(f"{path}/subscriptions/{sub.id}/cancel", data={"when": "now"}).status_code == 400
    )


def test_switch_price(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, amount=4500)
    product = sub["items"].data[0].price.product
    quarterly = make_plan(stripe_client, product=product, amount=12000, count=3)
    path = path_of(portal(stripe_client, sub).url, running)
    page = pages.get(path).get_data(as_text=True)
    assert "$120.00 AUD every 3 months" in page

    assert (
        pages.post(
            f"{path}/subscriptions/{sub.id}/switch", data={"price": quarterly.id}
        ).status_code
        == 303
    )
    switched = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert switched["items"].data[0].price.id == quarterly.id
    event = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["items"]["data"][0]["price"]["id"] != quarterly.id

    assert (
        pages.post(
            f"{path}/subscriptions/{sub.id}/switch", data={"price": "price_junk"}
        ).status_code
        == 400
    )
    assert (
        pages.post(
            f"{path}/subscriptions/sub_other/switch", data={"price": quarterly.id}
        ).status_code
        == 404
    )


def test_switch_offers_every_recurring_price_in_the_currency(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, name="Protein Box", amount=4500)
    current = sub["items"].data[0].price
    paleo = make_plan(stripe_client, name="Paleo Box", amount=12600, count=3)
    vegan = make_plan(stripe_client, name="Vegan Box", amount=4200)
    vegan_yearly = make_plan(stripe_client, product=vegan.product, amount=45000, count=12)
    retired = make_plan(stripe_client, name="Retired Box", amount=3000)
    stripe_client.v1.prices.update(retired.id, params={"active": False})
    gone = make_plan(stripe_client, name="Gone Box", amount=3100)
    stripe_client.v1.products.update(gone.product, params={"active": False})
    one_off = stripe_client.v1.prices.create(
        params={"currency": "aud", "unit_amount": 500, "product": current.product}
    )
    in_usd = stripe_client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 4000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "American Box"},
        }
    )

    path = path_of(portal(stripe_client, sub).url, running)
    page = pages.get(path).get_data(as_text=True)
    offered = [paleo.id, vegan.id, vegan_yearly.id]
    positions = [page.index(f'value="{price_id}"') for price_id in offered]
    assert positions == sorted(positions)  # by product name, then term
    assert '<optgroup label="Paleo Box">' in page and '<optgroup label="Vegan Box">' in page
    assert "Vegan Box: $450.00 AUD every 12 months" in page
    for price_id in (current.id, retired.id, gone.id, one_off.id, in_usd.id):
        assert f'value="{price_id}"' not in page

    for refused in (retired.id, gone.id, one_off.id, in_usd.id, current.id):
        response = pages.post(f"{path}/subscriptions/{sub.id}/switch", data={"price": refused})
        assert response.status_code == 400
        assert "Choose one of the other plans." in response.get_data(as_text=True)
    assert stripe_client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == current.id

    response = pages.post(f"{path}/subscriptions/{sub.id}/switch", data={"price": paleo.id})
    assert response.status_code == 303
    assert "The new price applies" in pages.get(response.headers["Location"]).get_data(as_text=True)
    switched = stripe_client.v1.subscriptions.retrieve(sub.id)
    item = switched["items"].data[0]
    assert item.price.id == paleo.id and item.price.product == paleo.product
    assert item.current_period_end == sub["items"].data[0].current_period_end
    event = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["items"]["data"][0]["price"]["id"] == current.id
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 1

    running.advance(days=32)
    renewal = stripe_client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert renewal.total == 12600 and renewal.status == "paid"


def test_update_card_fixes_future_renewals(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, card=LATER_FAILS_CARD)
    path = path_of(portal(stripe_client, sub).url, running)
    form = {"card_number": GOOD_CARD, "card_expiry": "10/33", "card_cvc": "999", "card_name": "Jo"}
    assert pages.post(f"{path}/card", data=form).status_code == 303
    assert "ending in 4242" in pages.get(path).get_data(as_text=True)
    running.advance(days=32)
    renewed = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.status == "active"
    assert renewed.latest_invoice.status == "paid"


def test_update_card_pays_past_due_invoice(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running, card=LATER_FAILS_CARD)
    running.advance(days=32)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    path = path_of(portal(stripe_client, sub).url, running)
    form = {"card_number": GOOD_CARD, "card_expiry": "10/33", "card_cvc": "999", "card_name": "Jo"}
    assert pages.post(f"{path}/card", data=form).status_code == 303
    fixed = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert fixed.status == "active"
    assert fixed.latest_invoice.status == "paid" and fixed.latest_invoice.attempt_count == 2


def test_bad_card_update_is_rejected(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    path = path_of(portal(stripe_client, sub).url, running)
    bad = pages.post(f"{path}/card", data={"card_number": "1234", "card_expiry": "x"})
    assert bad.status_code == 400
    assert "Your card number is invalid." in bad.get_data(as_text=True)
    declined = pages.post(
        f"{path}/card",
        data={
            "card_number": DECLINED_CARD,
            "card_expiry": "10/33",
            "card_cvc": "123",
            "card_name": "Jo",
        },
    )
    assert declined.status_code == 402
    assert pages.post(f"{path}/subscriptions/{sub.id}/explode").status_code == 404
    assert (
        pages.post(f"{path}/subscriptions/{sub.id}/cancel", data={"when": "later"}).status_code
        == 400
    )


ADDRESS_FORM = {
    "shipping_name": "Jo Citizen",
    "line1": "5 Smith St",
    "line2": "",
    "city": "Fitzroy",
    "state": "VIC",
    "postal_code": "3065",
    "country": "AU",
}


def test_change_shipping_address(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    path = path_of(portal(stripe_client, sub).url, running)
    page = pages.get(path).get_data(as_text=True)
    assert 'name="line1"' in page and 'value="1 George St"' in page  # today's address
    before = stripe_client.v1.customers.retrieve(sub.customer)

    response = pages.post(f"{path}/address", data=ADDRESS_FORM)
    assert response.status_code == 303
    assert "Your shipping address has been updated." in pages.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    assert customer.shipping.name == "Jo Citizen"
    assert customer.shipping.address.to_dict() == {
        "city": "Fitzroy",
        "country": "AU",
        "line1": "5 Smith St",
        "line2": None,
        "postal_code": "3065",
        "state": "VIC",
    }
    assert customer.address.to_dict() == customer.shipping.address.to_dict()
    event = stripe_client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.object.shipping.address.city == "Fitzroy"
    previous = event.data.previous_attributes
    assert previous["shipping"]["address"]["city"] == before.shipping.address.city == "Sydney"
    assert previous["address"]["line1"] == "1 George St"

    updates = len(stripe_client.v1.events.list(params={"type": "customer.updated"}).data)
    assert pages.post(f"{path}/address", data=ADDRESS_FORM).status_code == 303
    assert len(stripe_client.v1.events.list(params={"type": "customer.updated"}).data) == updates


def test_address_form_errors_are_shown_and_keep_what_was_typed(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    sub = subscribe(stripe_client, pages, running)
    path = path_of(portal(stripe_client, sub).url, running)
    form = {**ADDRESS_FORM, "shipping_name": " ", "city": "", "postal_code": "", "country": "XX"}
    response = pages.post(f"{path}/address", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Check the shipping address." in page
    for message in (
        "Enter the recipient&#39;s name.",
        "Enter a city or suburb.",
        "Enter a postcode.",
        "Choose a country we ship to.",
    ):
        assert message in page
    assert 'value="5 Smith St"' in page and 'aria-invalid="true"' in page
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    assert customer.shipping.address.line1 == "1 George St"
    assert stripe_client.v1.events.list(params={"type": "customer.updated"}).data == []
    assert pages.post("/p/session/bps_unknown/address", data=ADDRESS_FORM).status_code == 404


def test_address_form_for_a_customer_without_an_address(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "new@example.com"})
    session = stripe_client.v1.billing_portal.sessions.create(params={"customer": customer.id})
    path = path_of(session.url, running)
    assert pages.get(path).status_code == 200
    assert pages.post(f"{path}/address", data=ADDRESS_FORM).status_code == 303
    updated = stripe_client.v1.customers.retrieve(customer.id)
    assert updated.shipping.address.postal_code == "3065" and updated.shipping.phone is None
    event = stripe_client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes["shipping"] is None
    assert event.data.previous_attributes["address"] is None
