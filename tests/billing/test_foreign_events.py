"""Webhooks about what is not the shop's are recorded as ignored and answered 2xx."""

from __future__ import annotations

from sqlalchemy import select

from shop.billing.models import EventOutcome, Subscription, WebhookEvent
from shop.db import utcnow
from shop.extensions import db
from tests.billing.conftest import deliver
from tests.billing.test_webhooks import event, post_event
from tests.helpers import run_delayed_jobs


def test_a_subscription_to_a_price_the_shop_never_sold_is_ignored_with_the_reason(
    app, client, stripe_emulator, catalogue
):
    stripe_client = stripe_emulator.client()
    product = stripe_client.v1.products.create(params={"name": "Gym towel club"})
    price = stripe_client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "aud",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
        }
    )
    customer = stripe_client.v1.customers.create(params={"email": "towels@example.com"})
    stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
        }
    )

    deliveries = deliver(stripe_emulator, client)
    assert deliveries and all(status == 200 for _, status in deliveries), deliveries
    assert db.session.scalar(select(Subscription)) is None

    events = db.session.scalars(select(WebhookEvent)).all()
    about_it = [e for e in events if e.type.startswith(("customer.subscription", "invoice."))]
    assert about_it and all(e.outcome is EventOutcome.IGNORED for e in about_it)
    assert any("is not one of the shop's plans" in (e.error or "") for e in about_it)

    # Stripe delivering one again changes nothing and still answers 2xx.
    response = post_event(client, about_it[0].payload)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"


def test_a_one_off_invoice_is_ignored(app, client):
    invoice = {"id": "in_oneoff", "object": "invoice", "parent": None, "status": "paid"}
    response = post_event(client, event("invoice.paid", invoice))
    assert response.status_code == 200
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.outcome is EventOutcome.IGNORED
    assert "bills no subscription" in record.error


def test_an_object_stripe_no_longer_has_is_ignored(app, client, stripe_emulator):
    subscription = {"id": "sub_gone", "object": "subscription"}
    response = post_event(client, event("customer.subscription.updated", subscription))
    assert response.status_code == 200
    record = db.session.scalars(select(WebhookEvent)).one()
    assert (record.outcome, record.error) == (
        EventOutcome.IGNORED,
        "Stripe has no subscription sub_gone",
    )


def test_stripe_unreachable_is_a_real_failure_that_the_shop_retries(app, client, stripe_emulator):
    from shop.billing.gateway import StripeGateway

    app.extensions["stripe_gateway"] = StripeGateway("sk_test_x", "http://127.0.0.1:9")
    response = post_event(client, event("customer.subscription.updated", {"id": "sub_1"}))
    assert response.status_code == 200  # recorded: Stripe need not send it again
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.outcome is EventOutcome.QUEUED and record.attempts == 1
    assert "PaymentProviderError" in record.error
    assert record.next_attempt_at > utcnow()

    del app.extensions["stripe_gateway"]  # Stripe is back
    assert run_delayed_jobs(app) == 1
    db.session.expire_all()
    assert record.outcome is EventOutcome.IGNORED  # the emulator has no sub_1


def test_signed_events_whose_object_has_no_id_are_ignored_not_retried_for_days(app, client):
    for n, (type_, obj) in enumerate(
        [
            ("customer.subscription.updated", {}),
            ("customer.updated", {"id": 123}),
            ("invoice.paid", {"parent": {"subscription_details": {"subscription": "sub_x"}}}),
            ("checkout.session.completed", {"id": ["x"]}),
        ]
    ):
        response = post_event(client, event(type_, obj, event_id=f"evt_shapeless_{n}"))
        assert response.status_code == 200, (type_, response.get_data(as_text=True))
    outcomes = set(db.session.scalars(select(WebhookEvent.outcome)))
    assert outcomes == {EventOutcome.IGNORED}
