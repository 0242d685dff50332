"""Stripe webhook events: record each one once, then apply it in the same transaction.

`receive_event()` is the whole contract: a verified event is stored under its unique id and
dispatched to a small handler from `HANDLERS`; the record and the handler's changes commit
together. A duplicate of a processed event changes nothing. An event about something that is not
the shop's — a price or product it never sold, a one-off invoice, a customer it never met, an
object Stripe no longer has — is recorded as ignored with the reason and answered 2xx, so Stripe
stops sending it. A real failure (the database, Stripe unreachable) rolls back, records the
error on the event and raises, so the endpoint answers 500 and Stripe retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.billing.checkout import fulfil_checkout_session
from shop.billing.customers import apply_customer_update
from shop.billing.invoices import record_invoice
from shop.billing.models import EventOutcome, WebhookEvent
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import UnknownStripeObject, timestamp
from shop.billing.subscriptions import sync_subscription
from shop.db import utcnow
from shop.extensions import db

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], AfterCommit], object]


def on_checkout_session_completed(session: dict[str, Any], after: AfterCommit) -> object:
    _object_id(session)
    return fulfil_checkout_session(session, after)


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


class EventProcessingError(Exception):
    """A handler failed; the event is recorded as failed and Stripe should retry."""


def receive_event(event: dict[str, Any]) -> EventOutcome:
    """Record and apply one verified event. Commits; raises EventProcessingError on failure."""
    record = _claim(event)
    if record.outcome in (EventOutcome.PROCESSED, EventOutcome.IGNORED):
        db.session.commit()
        return record.outcome  # a duplicate delivery: it was done before
    record.attempts += 1
    handler = HANDLERS.get(event["type"])
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
        logger.info("webhook %s (%s) ignored: %s", event.get("id"), event.get("type"), exc)
        _record_ignored(event, str(exc))
        return EventOutcome.IGNORED
    except Exception as exc:
        db.session.rollback()
        logger.exception("webhook %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(event, exc)
        raise EventProcessingError(str(exc)) from exc
    after.run()
    return record.outcome


def _claim(event: dict[str, Any]) -> WebhookEvent:
    """The event's record, locked: the one an earlier delivery left, or inserted now."""
    existing = _locked_record(event["id"])
    if existing is not None:
        return existing
    record = _new_record(event, EventOutcome.PROCESSING)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent delivery inserted it first (the insert waited for it to commit).
        db.session.rollback()
        existing = _locked_record(event["id"])
        assert existing is not None
        return existing
    return record


def _new_record(event: dict[str, Any], outcome: EventOutcome) -> WebhookEvent:
    return WebhookEvent(
        stripe_event_id=event["id"],
        type=event["type"],
        api_version=event.get("api_version"),
        stripe_created_at=timestamp(event.get("created")) or utcnow(),
        payload=event,
        outcome=outcome,
        attempts=0,
    )


def _locked_record(stripe_event_id: str) -> WebhookEvent | None:
    return db.session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.stripe_event_id == stripe_event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _record_ignored(event: dict[str, Any], reason: str) -> None:
    """After a rollback: the event's record says it was ignored, and why. Commits."""
    record = _claim(event)
    record.outcome = EventOutcome.IGNORED
    record.error = reason[:2000]
    record.attempts = (record.attempts or 0) + 1
    record.processed_at = utcnow()
    db.session.commit()


def _record_failure(event: dict[str, Any], exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    record = db.session.scalar(
        select(WebhookEvent).where(WebhookEvent.stripe_event_id == event["id"])
    )
    if record is None:
        record = _new_record(event, EventOutcome.FAILED)
        db.session.add(record)
    record.outcome = EventOutcome.FAILED
    record.error = message
    record.attempts = (record.attempts or 0) + 1
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
