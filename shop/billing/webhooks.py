"""Stripe webhook events: record each one once, answer at once, apply it in a job.

The endpoint verifies the signature and calls `record_event()`: the event is stored under its
unique id (a duplicate delivery finds the first record and adds nothing), the transaction
commits, and the job `apply_event` is enqueued — the endpoint answers 2xx in milliseconds,
whatever Stripe or the mail server is doing. The database being down is the one reason to answer
otherwise (503), so Stripe delivers the event again.

`apply_event` claims the record (a row lock; a second job for the same event skips it), and
dispatches to a small handler from `HANDLERS`, which re-fetches Stripe's current state under the
subscription's lock (see `subscriptions`), so events applied late, twice or out of order converge
on what Stripe holds. The record's outcome and the handler's changes commit together, and the
emails they ask for are queued in that same transaction. An event about something that is not the
shop's — a price or product it never sold, a one-off invoice, a customer it never met, an object
Stripe no longer has — is recorded as ignored, with the reason. A real failure (Stripe unreachable,
a lock wait past LOCK_TIMEOUT_SECONDS) rolls back, records the error and retries with backoff;
after MAX_ATTEMPTS the event is failed, for an admin to see and process again
(`process_again`). A job lost on the way (a worker killed mid-job) leaves the event queued, and
the sweep enqueues it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record_admin_action
from shop.billing.checkout import fulfil_checkout_session
from shop.billing.customers import apply_customer_update
from shop.billing.gateway import NotFoundAtProvider, gateway
from shop.billing.invoices import record_invoice
from shop.billing.models import EventOutcome, WebhookEvent
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import UnknownStripeObject, timestamp
from shop.billing.subscriptions import sync_subscription
from shop.db import lock_timeout, utcnow
from shop.extensions import db
from shop.jobs import Backlog, due_by, enqueue, job, register_backlog, retry_delay

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], AfterCommit], object]


def on_checkout_session_completed(session: dict[str, Any], after: AfterCommit) -> object:
    try:
        current = gateway().retrieve_checkout_session(_object_id(session))
    except NotFoundAtProvider as exc:
        raise UnknownStripeObject(f"Stripe has no checkout session {session['id']}") from exc
    if current.get("mode") != "subscription":
        raise UnknownStripeObject(f"checkout session {session['id']} sold no subscription")
    return fulfil_checkout_session(current, after)


def on_subscription_changed(subscription: dict[str, Any], after: AfterCommit) -> object:
    # The payload is a snapshot that may be stale by now: apply Stripe's current state.
    return sync_subscription(_object_id(subscription), after)


def on_invoice_changed(invoice: dict[str, Any], after: AfterCommit) -> object:
    # Paid or failed, the invoice is applied as Stripe has it now, not as this snapshot says.
    _object_id(invoice)
    return record_invoice(invoice, after)


def on_customer_updated(customer: dict[str, Any], after: AfterCommit) -> object:
    return apply_customer_update(_object_id(customer))


def _object_id(obj: dict[str, Any]) -> str:
    """The id of the event's object; an object without one is nothing the shop knows."""
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise UnknownStripeObject("the event's object has no id")
    return object_id


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_session_completed,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "customer.subscription.paused": on_subscription_changed,
    "customer.subscription.resumed": on_subscription_changed,
    "invoice.paid": on_invoice_changed,
    "invoice.payment_failed": on_invoice_changed,
    "invoice.voided": on_invoice_changed,
    "customer.updated": on_customer_updated,
}


MAX_ATTEMPTS = 10  # about 3 hours of retries, 30 s … 1 h apart
APPLY_JOB = "apply_event"


def record_event(event: dict[str, Any]) -> WebhookEvent:
    """Store a verified event once (queued), or find the earlier delivery's record. Commits.

    The caller enqueues `apply_event` for a record that is still queued.
    """
    existing = _record_of(event["id"])
    if existing is not None:
        db.session.rollback()
        return existing
    record = _new_record(event, EventOutcome.QUEUED)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent delivery of the same event recorded it first
        db.session.rollback()
        existing = _record_of(event["id"])
        assert existing is not None
        return existing
    return record


def enqueue_event(record: WebhookEvent) -> None:
    """Hand a queued event to the job queue (nothing for one already done)."""
    if record.outcome is EventOutcome.QUEUED:
        enqueue(APPLY_JOB, record.id)


@job()
def apply_event(record_id: int) -> str:
    """Apply one recorded event (see the module docstring). Commits; never raises."""
    record = _claim(record_id)
    if record is None:
        db.session.rollback()
        return "not queued"
    record.attempts += 1
    event = record.payload
    handler = HANDLERS.get(record.type)
    after = AfterCommit()
    try:
        if handler is not None:
            handler(event["data"]["object"], after)
        record.outcome = EventOutcome.PROCESSED if handler else EventOutcome.IGNORED
        record.processed_at = utcnow()
        record.error = None if handler else "The shop does not act on this type of event."
        db.session.commit()
    except UnknownStripeObject as exc:
        db.session.rollback()
        logger.info("webhook %s (%s) ignored: %s", record_id, event.get("type"), exc)
        _finish(record_id, EventOutcome.IGNORED, str(exc))
        return EventOutcome.IGNORED.value
    except Exception as exc:
        db.session.rollback()
        return _failed(record_id, exc)
    after.run()
    return record.outcome.value


def process_again(record_id: int) -> bool:
    """An admin's "process again" for a failed (or ignored) event: queue it anew. Commits.

    Returns False when there is no such event or it is already queued or processed.
    """
    record = db.session.get(WebhookEvent, record_id)
    if record is None or record.outcome not in (EventOutcome.FAILED, EventOutcome.IGNORED):
        return False
    record_admin_action(
        "event.process_again",
        f"Queued Stripe event {record.stripe_event_id} ({record.type}) again; it was "
        f"{record.outcome.value} after {record.attempts} attempt(s)",
        subject=f"event:{record.stripe_event_id}",
    )
    record.outcome = EventOutcome.QUEUED
    record.attempts = 0
    record.next_attempt_at = utcnow()
    db.session.commit()
    enqueue(APPLY_JOB, record.id)
    return True


def _overdue_events(before: datetime) -> Select[tuple[int]]:
    return select(WebhookEvent.id).where(
        WebhookEvent.outcome == EventOutcome.QUEUED, WebhookEvent.next_attempt_at < before
    )


def _events_requeued(ids: list[int]) -> None:
    db.session.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_(ids)).values(next_attempt_at=utcnow())
    )


register_backlog(Backlog("webhook events", APPLY_JOB, _overdue_events, _events_requeued))


def _claim(record_id: int) -> WebhookEvent | None:
    """The queued record, locked for this job; None when it is done, not due yet (a duplicate
    job during a backoff) or another job has it."""
    lock_timeout(db.session, current_app.config["LOCK_TIMEOUT_SECONDS"])
    return db.session.scalar(
        select(WebhookEvent)
        .where(
            WebhookEvent.id == record_id,
            WebhookEvent.outcome == EventOutcome.QUEUED,
            WebhookEvent.next_attempt_at <= due_by(),
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _new_record(event: dict[str, Any], outcome: EventOutcome) -> WebhookEvent:
    object_id, subscription_id = event_subjects(event)
    return WebhookEvent(
        stripe_event_id=event["id"],
        type=event["type"],
        api_version=_short_text(event.get("api_version"), 40),
        stripe_created_at=_sane_timestamp(event.get("created")) or utcnow(),
        payload=event,
        outcome=outcome,
        attempts=0,
        next_attempt_at=utcnow(),
        object_id=object_id,
        stripe_subscription_id=subscription_id,
    )


def event_subjects(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the id of the event's object, the id of the subscription it concerns), each None when
    the payload does not say (or says it in a shape no Stripe id has).

    The subscription is the object itself for `customer.subscription.*`, the invoice's
    `parent.subscription_details.subscription` (or the older top-level `subscription`) for an
    invoice, and the session's `subscription` for a checkout session. A pure function over the
    payload: the migration that added these columns filled them in the same way.
    """
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return None, None
    object_id = _stripe_id(obj.get("id"))
    kind = obj.get("object")
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    if kind == "subscription" or event_type.startswith("customer.subscription."):
        return object_id, object_id
    if kind == "invoice" or event_type.startswith("invoice."):
        parent = obj.get("parent")
        details = parent.get("subscription_details") if isinstance(parent, dict) else None
        subscription = details.get("subscription") if isinstance(details, dict) else None
        return object_id, _stripe_id(subscription) or _stripe_id(obj.get("subscription"))
    if kind == "checkout.session" or event_type.startswith("checkout.session."):
        return object_id, _stripe_id(obj.get("subscription"))
    return object_id, None


def _stripe_id(value: object) -> str | None:
    """A Stripe id given as text or as an expanded object; None for anything else."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and 0 < len(value) <= 255:
        return value
    return None


def _short_text(value: object, length: int) -> str | None:
    return value if isinstance(value, str) and len(value) <= length else None


def _sane_timestamp(value: object) -> datetime | None:
    """Stripe's `created` (Unix seconds), or None for anything else (text, absurd numbers)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33:
        return timestamp(value)
    return None


def _record_of(stripe_event_id: str) -> WebhookEvent | None:
    return db.session.scalar(
        select(WebhookEvent).where(WebhookEvent.stripe_event_id == stripe_event_id)
    )


def _reclaim(record_id: int) -> WebhookEvent | None:
    """After a rollback let go of the record: it again, if no other job has taken it since
    (another job holds it, or has finished it: then that job's outcome stands)."""
    return db.session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == record_id, WebhookEvent.outcome == EventOutcome.QUEUED)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _finish(record_id: int, outcome: EventOutcome, reason: str) -> None:
    """After a rollback: the record's outcome and why (the attempt counted). Commits."""
    record = _reclaim(record_id)
    if record is None:
        db.session.rollback()
        return
    record.outcome = outcome
    record.error = reason[:2000]
    record.attempts += 1
    record.processed_at = utcnow()
    db.session.commit()


def _failed(record_id: int, exc: Exception) -> str:
    """After a rollback: count the attempt, then retry later or give up. Commits."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    record = _reclaim(record_id)
    if record is None:
        db.session.rollback()
        return "taken over"
    record.attempts += 1
    record.error = message
    if record.attempts >= MAX_ATTEMPTS:
        record.outcome = EventOutcome.FAILED
        db.session.commit()
        logger.error("webhook %s (%s) failed for good: %s", record_id, record.type, message)
        return EventOutcome.FAILED.value
    delay = retry_delay(record.attempts)
    record.next_attempt_at = utcnow() + delay
    db.session.commit()
    logger.warning(
        "webhook %s (%s) failed (attempt %s, retry in %ss): %s",
        record_id,
        record.type,
        record.attempts,
        int(delay.total_seconds()),
        message,
    )
    enqueue(APPLY_JOB, record_id, delay=delay)
    return "retrying"
