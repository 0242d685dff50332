"""Recorded Stripe events, put straight into the database for the admin's pages."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from shop.billing.models import EventOutcome, WebhookEvent
from shop.db import utcnow
from shop.extensions import db

_seq = count(1)

EVENT_TYPES = (
    "invoice.paid",
    "customer.subscription.updated",
    "checkout.session.completed",
    "customer.updated",
    "invoice.payment_failed",
)
_OBJECTS = {
    "invoice": "in_",
    "customer": "cus_",
    "checkout.session": "cs_test_",
    "subscription": "sub_",
}


def _object_kind(event_type: str) -> str:
    if event_type.startswith("customer.subscription."):
        return "subscription"
    if event_type.startswith("checkout.session."):
        return "checkout.session"
    return event_type.split(".")[0]


def make_event(
    event_type: str = "invoice.paid",
    outcome: EventOutcome = EventOutcome.PROCESSED,
    *,
    days_ago: float = 0,
    error: str | None = None,
    attempts: int | None = None,
    payload_extra: dict[str, Any] | None = None,
    commit: bool = True,
) -> WebhookEvent:
    n = next(_seq)
    kind = _object_kind(event_type)
    when = utcnow() - timedelta(days=days_ago)
    obj = {"id": f"{_OBJECTS.get(kind, 'obj_')}b{n:05d}", "object": kind, **(payload_extra or {})}
    record = WebhookEvent(
        stripe_event_id=f"evt_b{n:06d}",
        type=event_type,
        api_version="2026-10-28.endive",
        stripe_created_at=when,
        payload={
            "id": f"evt_b{n:06d}",
            "object": "event",
            "type": event_type,
            "data": {"object": obj},
        },
        received_at=when,
        processed_at=when if outcome in (EventOutcome.PROCESSED, EventOutcome.IGNORED) else None,
        outcome=outcome,
        error=error if error is not None else ("boom" if outcome is EventOutcome.FAILED else None),
        attempts=attempts
        if attempts is not None
        else (10 if outcome is EventOutcome.FAILED else 1),
        next_attempt_at=when,
    )
    db.session.add(record)
    if commit:
        db.session.commit()
    return record


def a_year_of_events(number: int = 400) -> list[WebhookEvent]:
    """`number` events spread over the last year, of every type and outcome (most processed,
    some failed, ignored and queued), newest last."""
    outcomes = (
        *(EventOutcome.PROCESSED,) * 6,
        EventOutcome.FAILED,
        EventOutcome.IGNORED,
        EventOutcome.QUEUED,
    )
    records = [
        make_event(
            EVENT_TYPES[n % len(EVENT_TYPES)],
            outcomes[n % len(outcomes)],
            days_ago=365 * (number - n) / number,
            error=f"PaymentProviderError: try {n}"
            if outcomes[n % len(outcomes)] is EventOutcome.FAILED
            else None,
            commit=False,
        )
        for n in range(number)
    ]
    db.session.commit()
    return records
