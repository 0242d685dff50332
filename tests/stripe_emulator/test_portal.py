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
    make_plan(stripe_client, name="Other product")  # not offered: a different product
    path = path_of(portal(stripe_client, sub).url, running)
    page = pages.get(path).get_data(as_text=True)
    assert "A$120.00 every 3 months" in page
    assert "Other product" not in page

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
