"""The admin's Stripe events and emails: what failed, and "process again" / "send again"."""

from __future__ import annotations

import re

from sqlalchemy import select

from shop.billing.models import EventOutcome, WebhookEvent
from shop.db import utcnow
from shop.extensions import db
from shop.mail.models import EmailStatus, QueuedEmail
from tests.builders.billing import make_customer
from tests.helpers import csrf_token, visible_text


def make_event(outcome: EventOutcome, *, error: str | None = None, n: int = 1) -> WebhookEvent:
    record = WebhookEvent(
        stripe_event_id=f"evt_admin_{n}",
        type="customer.updated",
        stripe_created_at=utcnow(),
        payload={
            "id": f"evt_admin_{n}",
            "type": "customer.updated",
            "data": {"object": {"id": "cus_gone"}},
        },
        outcome=outcome,
        attempts=10,
        error=error,
    )
    db.session.add(record)
    db.session.commit()
    return record


def test_failed_events_are_listed_with_their_error_and_counted_in_the_admin_bar(admin_client):
    make_event(EventOutcome.FAILED, error="PaymentProviderError: Stripe is not answering")
    make_event(EventOutcome.PROCESSED, n=2)
    page = admin_client.get("/admin/events")
    assert page.status_code == 200
    text = visible_text(page)
    assert "evt_admin_1" in text and "Stripe is not answering" in text
    assert "evt_admin_2" not in text  # processed ones are on their own tab
    assert re.search(r"Stripe events \( ?1 failed\)", text)
    assert "evt_admin_2" in visible_text(admin_client.get("/admin/events?status=processed"))


def test_process_again_queues_a_failed_event_and_applies_it(admin_client):
    record = make_event(EventOutcome.FAILED, error="boom")
    token = csrf_token(admin_client, "/admin/events")
    response = admin_client.post(f"/admin/events/{record.id}/process", data={"csrf_token": token})
    assert response.status_code == 303
    again = db.session.get(WebhookEvent, record.id)
    # Applied at once (tests run jobs in-process): Stripe has no such customer, so ignored.
    assert again.outcome is EventOutcome.IGNORED and again.attempts == 1
    assert "queued again" in visible_text(admin_client.get(response.headers["Location"]))


def test_process_again_needs_the_form_token_and_a_real_event(admin_client):
    record = make_event(EventOutcome.FAILED, error="boom")
    assert admin_client.post(f"/admin/events/{record.id}/process").status_code == 400
    assert db.session.get(WebhookEvent, record.id).outcome is EventOutcome.FAILED
    token = csrf_token(admin_client, "/admin/events")
    for raw in ("999999", "abc", "-1", str(2**63)):
        missing = admin_client.post(f"/admin/events/{raw}/process", data={"csrf_token": token})
        assert missing.status_code == 404
    assert admin_client.get("/admin/events?status=exploded").status_code == 400


def test_a_processed_event_is_not_processed_again(admin_client):
    record = make_event(EventOutcome.PROCESSED, n=3)
    token = csrf_token(admin_client, "/admin/events")
    admin_client.post(f"/admin/events/{record.id}/process", data={"csrf_token": token})
    assert db.session.get(WebhookEvent, record.id).attempts == 10


def test_a_failed_email_can_be_sent_again(admin_client):
    customer = make_customer()
    email = QueuedEmail(
        customer_id=customer.id,
        template="subscription_ended",
        context={"subscription_id": 0},
        dedupe_key="subscription_ended:sub_gone",
        message_id="<x@musclebox.test>",
        status=EmailStatus.FAILED,
        attempts=10,
        last_error="SMTPRecipientsRefused (SMTP 550)",
    )
    db.session.add(email)
    db.session.commit()
    page = visible_text(admin_client.get("/admin/emails"))
    assert "Subscription ended" in page and "SMTP 550" in page
    assert customer.email not in page  # the list names customers by number
    token = csrf_token(admin_client, "/admin/emails")
    response = admin_client.post(f"/admin/emails/{email.id}/send", data={"csrf_token": token})
    assert response.status_code == 303
    # Sent again at once; its subscription is gone, so it is no longer true and is dropped.
    assert db.session.get(QueuedEmail, email.id).status is EmailStatus.DROPPED


def test_the_pages_are_for_admins_only(client):
    for path in ("/admin/events", "/admin/emails"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/admin/login" in response.headers["Location"]
    assert db.session.scalars(select(WebhookEvent)).all() == []
