"""A subscription locked too long (a job stuck on a slow Stripe) costs a waiting job a retry
and a waiting page a quick "try again", never a worker held until gunicorn kills it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from shop.billing.models import EventOutcome, WebhookEvent
from shop.extensions import db
from tests.billing.conftest import buy, deliver
from tests.billing.test_webhooks import sign
from tests.conftest import IS_POSTGRES
from tests.helpers import run_delayed_jobs

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES, reason="needs PostgreSQL: lock timeouts are PostgreSQL's lock_timeout"
)


@pytest.fixture
def app_settings(app_settings):  # type: ignore[no-untyped-def]
    return {**app_settings, "LOCK_TIMEOUT_SECONDS": 1, "PAGE_LOCK_TIMEOUT_SECONDS": 1}


def _hold_subscription_lock(app, subscription_id: str):  # type: ignore[no-untyped-def]
    """Another worker busy with the subscription: its lock, held on a connection of its own."""
    connection = db.engine.connect()
    connection.begin()  # held until the connection closes and its transaction rolls back
    connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"subscription:{subscription_id}"},
    )
    return connection


def test_a_job_waiting_past_the_lock_timeout_retries_later(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)
    events = stripe_emulator.client().v1.events.list(params={"limit": 100}).data
    paid = next(e for e in events if e.type == "invoice.paid").to_dict(for_json=True)
    subscription_id = paid["data"]["object"]["parent"]["subscription_details"]["subscription"]
    holder = _hold_subscription_lock(app, subscription_id)
    try:
        payload = json.dumps(paid).encode()
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": sign(payload)}
        )
        assert response.status_code == 200
        record = db.session.scalar(select(WebhookEvent))
        assert record.outcome is EventOutcome.QUEUED and record.attempts == 1
        assert "LockTimeout" in record.error
    finally:
        holder.close()  # the other worker is done
    run_delayed_jobs(app)
    assert db.session.get(WebhookEvent, record.id).outcome is EventOutcome.PROCESSED


def test_the_success_page_waiting_past_the_lock_timeout_says_try_again(
    app, client, pages, stripe_emulator, catalogue
):
    success = buy(client, pages, stripe_emulator)
    session_id = success.rsplit("=", 1)[1]
    session = stripe_emulator.client().v1.checkout.sessions.retrieve(session_id)
    holder = _hold_subscription_lock(app, session.subscription)
    try:
        page = client.get(success)
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "30"
    finally:
        holder.close()
    assert client.get(success).status_code == 200
    assert deliver(stripe_emulator, client)  # and the webhooks apply as usual
