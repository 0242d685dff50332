"""Subscribing: POST /checkout to Stripe Checkout and back to the success page."""

from __future__ import annotations

from sqlalchemy import func, select

from shop.accounts.models import Customer
from shop.billing.models import CheckoutRecord, Subscription, SubscriptionStatus
from shop.extensions import db
from tests.billing.conftest import (
    DECLINED_CARD,
    buy,
    card_form,
    deliver,
    hosted_path,
    subscribe_button,
)
from tests.helpers import text_of, visible_text


def test_subscribe_creates_a_checkout_session_and_redirects_to_it(
    app, client, stripe_emulator, catalogue
):
    form = subscribe_button(client, "protein-musclebox", 3)
    response = client.post("/checkout", data=form)
    assert response.status_code == 303
    url = response.headers["Location"]
    assert url.startswith(stripe_emulator.base_url + "/c/pay/cs_test_")

    record = db.session.scalar(select(CheckoutRecord))
    session = stripe_emulator.client().v1.checkout.sessions.retrieve(
        record.stripe_checkout_session_id, params={"expand": ["line_items"]}
    )
    assert session.url == url
    assert session.mode == "subscription"
    assert session.line_items.data[0].price.id == record.plan.stripe_price_id
    assert session.shipping_address_collection.allowed_countries == ["AU"]
    assert session.allow_promotion_codes is True
    assert session.client_reference_id == f"plan-{record.plan_id}"
    assert session.metadata["shop_plan_id"] == str(record.plan_id)
    assert session.metadata["shop_plan_lookup_key"] == "protein-musclebox-3m"
    assert (
        session.success_url == "http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session.cancel_url == "http://shop.test/boxes/protein-musclebox"


def test_double_click_makes_one_checkout_session(app, client, stripe_emulator, catalogue):
    form = subscribe_button(client, "musclebox", 1)
    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 1
    sessions = stripe_emulator.client().v1.checkout.sessions.list().data
    assert len(sessions) == 1


def test_signed_in_customer_checks_out_as_themselves(app, client, stripe_emulator, catalogue):
    customer = Customer(email="known@example.com", stripe_customer_id=None)
    db.session.add(customer)
    db.session.commit()
    with client.session_transaction() as browser_session:
        browser_session["customer_id"] = customer.id
    client.post("/checkout", data=subscribe_button(client, "musclebox", 6))
    record = db.session.scalar(select(CheckoutRecord))
    session = stripe_emulator.client().v1.checkout.sessions.retrieve(
        record.stripe_checkout_session_id
    )
    assert session.customer_email == "known@example.com"
    assert session.client_reference_id == f"customer-{customer.id}"
    assert session.metadata["shop_customer_id"] == str(customer.id)


def test_paying_shows_what_was_bought_and_activates_the_subscription(
    app, client, pages, stripe_emulator, catalogue
):
    success = buy(client, pages, stripe_emulator, "protein-musclebox", 3)
    response = client.get(success)
    assert response.status_code == 200
    text = visible_text(response)
    assert "Welcome to Protein MuscleBox" in text
    assert "Every 3 months — $154.95 AUD every 3 months" in text
    assert "Paid today $154.95 AUD" in text
    assert "Bea Buyer 1 George St Level 2 Sydney NSW 2000 Australia" in text
    assert "What happens next" in text

    subscription = db.session.scalar(select(Subscription))
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.plan.lookup_key == "protein-musclebox-3m"
    assert subscription.customer.email == "bea@example.com"
    assert subscription.customer.shipping_city == "Sydney"
    assert subscription.current_period_end > subscription.current_period_start
    assert db.session.scalar(select(CheckoutRecord.completed_at)) is not None


def test_success_page_and_webhook_fulfil_once_whichever_comes_first(
    app, client, pages, stripe_emulator, catalogue
):
    from shop.mail.models import OutboxMessage

    success = buy(client, pages, stripe_emulator)
    client.get(success)
    deliveries = deliver(stripe_emulator, client)
    assert ("checkout.session.completed", 200) in deliveries
    assert all(status == 200 for _, status in deliveries), deliveries
    client.get(success)
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert db.session.scalar(select(func.count(Customer.id))) == 1
    emails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "bea@example.com")
    ).all()
    assert len(emails) == 1, "one confirmation, not one per code path"
    assert "Protein MuscleBox" in emails[0].text_body


def test_webhook_first_then_success_page(app, client, pages, stripe_emulator, catalogue):
    success = buy(client, pages, stripe_emulator)
    deliver(stripe_emulator, client)
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert "Welcome to Protein MuscleBox" in text_of(client.get(success))
    assert db.session.scalar(select(func.count(Subscription.id))) == 1


def test_declined_card_stays_on_the_payment_page(app, client, pages, stripe_emulator, catalogue):
    response = client.post("/checkout", data=subscribe_button(client, "musclebox", 1))
    declined = pages.post(
        hosted_path(response.headers["Location"], stripe_emulator), data=card_form(DECLINED_CARD)
    )
    assert declined.status_code == 402
    assert "declined" in declined.get_data(as_text=True).lower()
    deliver(stripe_emulator, client)
    assert db.session.scalar(select(func.count(Subscription.id))) == 0


def test_forged_or_unknown_session_ids_are_404(app, client, stripe_emulator, catalogue):
    for session_id in ("", "nope", "cs_test_<script>", "cs_test_" + "a" * 40, "x" * 5000):
        response = client.get("/checkout/success", query_string={"session_id": session_id})
        assert response.status_code == 404, session_id
        assert "couldn't find that order" in text_of(response)


def test_unpaid_session_says_payment_is_being_confirmed(app, client, stripe_emulator, catalogue):
    response = client.post("/checkout", data=subscribe_button(client, "musclebox", 1))
    session_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = client.get(f"/checkout/success?session_id={session_id}")
    assert page.status_code == 200
    assert "We're confirming your payment" in text_of(page)
    assert db.session.scalar(select(func.count(Subscription.id))) == 0


def test_bad_checkout_requests(app, client, stripe_emulator, catalogue):
    form = subscribe_button(client, "musclebox", 1)
    assert client.post("/checkout", data={**form, "plan_id": "abc"}).status_code == 400
    assert client.post("/checkout", data={**form, "plan_id": "99999"}).status_code == 404
    assert client.post("/checkout", data={"plan_id": form["plan_id"]}).status_code == 400
    assert client.get("/checkout").status_code == 405
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 0


def test_stripe_unreachable_shows_a_friendly_page_and_stores_nothing(
    app, client, stripe_emulator, catalogue, caplog
):
    form = subscribe_button(client, "musclebox", 1)
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    app.extensions.pop("stripe_gateway", None)
    response = client.post("/checkout", data=form)
    assert response.status_code == 503
    text = text_of(response)
    assert "couldn't reach our payment provider" in text and "Nothing was charged" in text
    assert 'name="plan_id" value="' in text, "a retry button"
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 0
    assert "stripe create checkout session failed" in caplog.text


def test_stripe_error_is_logged_with_its_request_id(
    app, client, stripe_emulator, catalogue, caplog
):
    from shop.catalog.models import Plan

    form = subscribe_button(client, "musclebox", 1)
    plan = db.session.get(Plan, int(form["plan_id"]))
    plan.stripe_price_id = "price_does_not_exist"
    db.session.commit()
    response = client.post("/checkout", data=form)
    assert response.status_code == 503
    assert "(request req_" in caplog.text
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 0
