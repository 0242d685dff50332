"""POST /webhooks/stripe: verification, recording, idempotency, ordering and failures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.billing.models import (
    CalendarBox,
    EventOutcome,
    Invoice,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.db import utcnow
from shop.extensions import db
from tests.billing.conftest import WEBHOOK_SECRET, buy, deliver
from tests.helpers import run_delayed_jobs


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def post_event(client, event: dict[str, Any], **sign_options: Any):  # type: ignore[no-untyped-def]
    payload = json.dumps(event).encode()
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": sign(payload, **sign_options)},
        content_type="application/json",
    )


def event(
    type_: str, obj: dict[str, Any], event_id: str = "evt_test_1", created: int = 1_800_000_000
):
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "api_version": "2026-10-28.endive",
        "created": created,
        "livemode": False,
        "data": {"object": obj},
    }


def break_paid_invoices(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Applying a paid invoice fails (checkout's completion applies the first invoice too:
    both ways in break)."""
    from shop.billing import webhooks

    def broken(invoice, after):  # type: ignore[no-untyped-def]
        raise RuntimeError("warehouse system down")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", broken)


def events_stored() -> int:
    return db.session.scalar(select(func.count(WebhookEvent.id))) or 0


# -- verification --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b'{"id": "evt_1"}'),
        ({"Stripe-Signature": "t=1,v1=deadbeef"}, b'{"id": "evt_1"}'),
        ({"Stripe-Signature": "garbage"}, b'{"id": "evt_1"}'),
    ],
)
def test_missing_or_wrong_signature_is_400_and_stores_nothing(app, client, headers, body):
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400
    assert events_stored() == 0


def test_signature_with_another_secret_is_refused(app, client):
    response = post_event(client, event("customer.updated", {"id": "cus_1"}), secret="whsec_other")
    assert response.status_code == 400
    assert events_stored() == 0


def test_stale_signature_is_refused(app, client):
    response = post_event(
        client, event("customer.updated", {"id": "cus_1"}), at=int(time.time()) - 3600
    )
    assert response.status_code == 400
    assert events_stored() == 0


def test_unparsable_or_shapeless_bodies_are_400(app, client):
    for payload in (b"not json", b"[1, 2]", b'{"id": "evt_1", "type": "x"}'):
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": sign(payload)}
        )
        assert response.status_code == 400, payload
    assert events_stored() == 0


def test_no_csrf_token_needed_and_json_errors(app, client):
    response = client.post("/webhooks/stripe", data=b"{}")
    assert response.status_code == 400
    assert response.is_json


@pytest.fixture
def rotating_secrets(app):  # type: ignore[no-untyped-def]
    app.config["STRIPE_WEBHOOK_SECRET"] = ("whsec_new_secret", WEBHOOK_SECRET)


def test_several_secrets_are_accepted_while_rotating(rotating_secrets, client):
    assert post_event(client, event("ping.unknown", {"id": "x"}, "evt_a")).status_code == 200
    assert (
        post_event(
            client, event("ping.unknown", {"id": "x"}, "evt_b"), secret="whsec_new_secret"
        ).status_code
        == 200
    )
    assert events_stored() == 2


# -- recording ----------------------------------------------------------------------------------


def test_unknown_event_types_are_recorded_as_ignored(app, client):
    response = post_event(client, event("balance.available", {"id": "bal_1"}))
    assert response.status_code == 200
    stored = db.session.scalar(select(WebhookEvent))
    assert (stored.type, stored.outcome) == ("balance.available", EventOutcome.IGNORED)
    assert stored.api_version == "2026-10-28.endive"
    assert stored.payload["data"]["object"]["id"] == "bal_1"
    assert stored.processed_at is not None


def test_every_delivered_event_is_recorded_once(app, client, pages, stripe_emulator, catalogue):
    buy(client, pages, stripe_emulator)
    first = deliver(stripe_emulator, client)
    assert first and all(status == 200 for _, status in first)
    types = set(db.session.scalars(select(WebhookEvent.type)))
    assert {"checkout.session.completed", "customer.subscription.created", "invoice.paid"} <= types
    assert set(db.session.scalars(select(WebhookEvent.outcome))) <= {
        EventOutcome.PROCESSED,
        EventOutcome.IGNORED,
    }


def test_duplicate_delivery_answers_200_and_changes_nothing(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)
    deliver(stripe_emulator, client)
    paid = db.session.scalar(select(WebhookEvent).where(WebhookEvent.type == "invoice.paid"))
    counts = (events_stored(), db.session.scalar(select(func.count(CalendarBox.id))))
    assert counts[1] == 3, "a 3-month term: three boxes"

    payload = json.dumps(paid.payload).encode()
    for _ in range(2):
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": sign(payload)}
        )
        assert response.status_code == 200
        assert response.get_json()["outcome"] == "processed"
    assert (events_stored(), db.session.scalar(select(func.count(CalendarBox.id)))) == counts
    assert db.session.scalar(select(WebhookEvent.attempts).where(WebhookEvent.id == paid.id)) == 1


def test_handler_failure_rolls_back_records_the_error_and_is_retried_later(
    app, client, pages, stripe_emulator, catalogue, monkeypatch
):
    buy(client, pages, stripe_emulator)
    break_paid_invoices(monkeypatch)
    deliveries = deliver(stripe_emulator, client)
    assert ("invoice.paid", 200) in deliveries  # recorded: the shop retries, not Stripe
    failed = db.session.scalar(select(WebhookEvent).where(WebhookEvent.type == "invoice.paid"))
    assert failed.outcome is EventOutcome.QUEUED and failed.attempts == 1
    assert "warehouse system down" in failed.error
    assert failed.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 0

    # Stripe delivering it again changes nothing: it is the shop's to retry, after the backoff.
    payload = json.dumps(failed.payload).encode()
    again = client.post(
        "/webhooks/stripe", data=payload, headers={"Stripe-Signature": sign(payload)}
    )
    assert again.status_code == 200
    assert db.session.get(WebhookEvent, failed.id).attempts == 1

    monkeypatch.undo()
    run_delayed_jobs(app)
    retried = db.session.get(WebhookEvent, failed.id)
    assert retried.outcome is EventOutcome.PROCESSED and retried.error is None
    assert retried.attempts == 2
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 3


def test_an_event_that_keeps_failing_ends_failed_and_an_admin_can_process_it_again(
    app, client, pages, stripe_emulator, catalogue, monkeypatch
):
    from shop.billing import webhooks

    buy(client, pages, stripe_emulator)
    break_paid_invoices(monkeypatch)
    deliver(stripe_emulator, client)
    for _ in range(webhooks.MAX_ATTEMPTS):
        run_delayed_jobs(app)
    failed = db.session.scalar(select(WebhookEvent).where(WebhookEvent.type == "invoice.paid"))
    assert failed.outcome is EventOutcome.FAILED
    assert failed.attempts == webhooks.MAX_ATTEMPTS
    assert run_delayed_jobs(app) == 0  # given up: nothing more is scheduled

    monkeypatch.undo()
    assert webhooks.process_again(failed.id)
    db.session.expire_all()
    again = db.session.get(WebhookEvent, failed.id)
    assert again.outcome is EventOutcome.PROCESSED
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 3
    assert not webhooks.process_again(failed.id)  # done: nothing to process again


# -- ordering ------------------------------------------------------------------------------------


def test_older_snapshot_never_overwrites_newer_state(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)
    deliver(stripe_emulator, client)
    subscription = db.session.scalar(select(Subscription))
    stripe = stripe_emulator.client()
    stripe.v1.subscriptions.update(
        subscription.stripe_subscription_id, params={"cancel_at_period_end": True}
    )
    stale = stripe.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    deliver(stripe_emulator, client)
    assert db.session.get(Subscription, subscription.id).cancel_at_period_end is True

    # The old "created" snapshot (cancel_at_period_end false) arrives again, late.
    stale_payload = stale.to_dict(for_json=True)
    stale_payload["id"] = "evt_late_copy"
    assert post_event(client, stale_payload).status_code == 200
    assert db.session.get(Subscription, subscription.id).cancel_at_period_end is True


def test_events_for_an_unseen_subscription_create_it(app, client, stripe_emulator, catalogue):
    """A subscription made in Stripe's dashboard, its events arriving before any checkout."""
    from shop.catalog.models import Plan

    stripe = stripe_emulator.client()
    customer = stripe.v1.customers.create(
        params={
            "email": "dash@example.com",
            "name": "Dash Board",
            "shipping": {
                "name": "Dash Board",
                "address": {
                    "line1": "5 Queen St",
                    "city": "Brisbane",
                    "state": "QLD",
                    "postal_code": "4000",
                    "country": "AU",
                },
            },
        }
    )
    plan = db.session.scalar(select(Plan).where(Plan.lookup_key == "miss-musclebox-6m"))
    created = stripe.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": plan.stripe_price_id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    deliveries = deliver(stripe_emulator, client)
    assert all(status == 200 for _, status in deliveries), deliveries
    subscription = db.session.scalar(select(Subscription))
    assert subscription.stripe_subscription_id == created.id
    assert subscription.plan.lookup_key == "miss-musclebox-6m"
    assert subscription.customer.email == "dash@example.com"
    assert subscription.customer.shipping_city == "Brisbane"
    assert subscription.ship_to_city == "Brisbane", "its boxes go where its customer lives"
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 6


def test_customer_updated_changes_email_and_address(app, client, pages, stripe_emulator, catalogue):
    buy(client, pages, stripe_emulator)
    deliver(stripe_emulator, client)
    subscription = db.session.scalar(select(Subscription))
    stripe_emulator.client().v1.customers.update(
        subscription.customer.stripe_customer_id,
        params={
            "email": "bea.new@example.com",
            "shipping": {
                "name": "Bea Buyer",
                "address": {
                    "line1": "9 Hay St",
                    "city": "Perth",
                    "state": "WA",
                    "postal_code": "6000",
                    "country": "AU",
                },
            },
        },
    )
    deliver(stripe_emulator, client)
    customer = db.session.get(type(subscription.customer), subscription.customer_id)
    assert customer.email == "bea.new@example.com"
    assert (customer.shipping_line1, customer.shipping_city) == ("9 Hay St", "Perth")


def test_invoice_payment_failed_marks_past_due(app, client, pages, stripe_emulator, catalogue):
    from tests.billing.conftest import LATER_FAILS_CARD

    buy(client, pages, stripe_emulator, card=LATER_FAILS_CARD)
    deliver(stripe_emulator, client)
    stripe_emulator.advance(days=95)
    deliver(stripe_emulator, client)
    subscription = db.session.scalar(select(Subscription))
    assert subscription.status is SubscriptionStatus.PAST_DUE
    failed = db.session.scalar(select(Invoice).where(Invoice.status == "open"))
    assert failed is not None and failed.payment_failed_notified_at is not None


# -- off the request path ----------------------------------------------------------------------


def test_the_endpoint_records_and_enqueues_without_asking_stripe(app, client, tmp_path):
    """Whatever Stripe is doing, the answer needs only the database: the job asks Stripe."""
    from shop.billing.gateway import StripeGateway
    from shop.jobs import init_jobs

    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)  # a real queue, no worker yet
    unreachable = StripeGateway("sk_test_x", "http://127.0.0.1:9")
    app.extensions["stripe_gateway"] = app.extensions["stripe_gateway_page"] = unreachable

    response = post_event(client, event("customer.subscription.updated", {"id": "sub_1"}))
    duplicate = post_event(client, event("customer.subscription.updated", {"id": "sub_1"}))

    assert response.status_code == duplicate.status_code == 200
    assert response.get_json() == {"received": True, "outcome": "queued"}
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.outcome is EventOutcome.QUEUED and record.attempts == 0
    queue = app.extensions["huey"]
    assert [job.args for job in queue.pending()] == [(record.id,), (record.id,)]

    for _ in range(2):  # the worker's turn, Stripe still down: one try, and a retry later
        queue.execute(queue.dequeue())
    db.session.expire_all()
    assert record.outcome is EventOutcome.QUEUED and record.attempts == 1
    assert "PaymentProviderError" in record.error
    (retry,) = queue.pending()
    assert retry.args == (record.id,) and retry.eta is not None


@pytest.mark.parametrize(
    "oddity",
    [{"created": "yesterday"}, {"created": 10**20}, {"created": True}, {"api_version": {"a": 1}}],
)
def test_a_signed_event_with_odd_fields_is_recorded_not_a_500(app, client, oddity):
    body = {**event("customer.updated", {"id": "cus_nobody"}, event_id="evt_odd"), **oddity}
    response = post_event(client, body)
    assert response.status_code == 200
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.outcome is EventOutcome.IGNORED  # Stripe has no such customer
