"""The admin's view of work done off the request path: Stripe events and emails.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/events?status=<failed|queued|processed|ignored>&page=N` — Stripe events, newest
  first, failed ones by default: what each was, how many tries, the last error, and for a failed
  or ignored event a "Process again" button.
- `POST /admin/events/<id>/process` — queue that event anew (`webhooks.process_again`).
- `GET /admin/emails?status=<failed|pending|sending|sent|dropped>&page=N` — queued emails, failed
  ones by default, with the mail server's last answer; `POST /admin/emails/<id>/send` sends a
  failed one again (`queue.send_again`).

An unknown id is a 404; an event or email in another state is left alone and the page says so.
Every POST carries the CSRF token the app checks for all forms (Flask-WTF's CSRFProtect).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from shop.admin.views import bp
from shop.billing.models import EventOutcome, WebhookEvent
from shop.billing.webhooks import MAX_ATTEMPTS as EVENT_MAX_ATTEMPTS
from shop.billing.webhooks import process_again
from shop.extensions import db
from shop.jobs import overdue_work
from shop.mail.models import EmailStatus, QueuedEmail
from shop.mail.queue import MAX_ATTEMPTS as EMAIL_MAX_ATTEMPTS
from shop.mail.queue import send_again
from shop.site.params import as_id, page_number

PER_PAGE = 50


@bp.context_processor
def failed_work_counts() -> dict[str, object]:
    """The admin bar's badges: events and emails that gave up and wait for an admin."""
    if not current_user.is_authenticated:
        return {}
    return {
        "admin_failed_events": db.session.scalar(
            select(func.count()).where(WebhookEvent.outcome == EventOutcome.FAILED)
        ),
        "admin_failed_emails": db.session.scalar(
            select(func.count()).where(QueuedEmail.status == EmailStatus.FAILED)
        ),
        "admin_overdue_work": {what: n for what, n in overdue_work().items() if n},
    }


@bp.get("/events")
def events() -> str:
    return _work_page(
        "admin.events",
        WebhookEvent.outcome,
        WebhookEvent.received_at,
        _choice(EventOutcome, EventOutcome.FAILED),
        max_attempts=EVENT_MAX_ATTEMPTS,
    )


@bp.post("/events/<raw_id>/process")
def process_event(raw_id: str) -> Response:
    record = db.session.get(WebhookEvent, as_id(raw_id) or 0) or abort(404)
    outcome = record.outcome
    if process_again(record.id):
        db.session.expire_all()
        flash(
            f"Event {record.stripe_event_id} queued again: {record.outcome.value} now.", "success"
        )
    else:
        flash(f"Event {record.stripe_event_id} is {record.outcome.value}: nothing to do.", "info")
    return redirect(url_for("admin.events", status=outcome.value), code=303)


@bp.get("/emails")
def emails() -> str:
    return _work_page(
        "admin.emails",
        QueuedEmail.status,
        QueuedEmail.created_at,
        _choice(EmailStatus, EmailStatus.FAILED),
        max_attempts=EMAIL_MAX_ATTEMPTS,
    )


@bp.post("/emails/<raw_id>/send")
def send_email_again(raw_id: str) -> Response:
    email = db.session.get(QueuedEmail, as_id(raw_id) or 0) or abort(404)
    if send_again(email.id):
        flash(f"Email {email.id} queued to send again.", "success")
    else:
        flash(f"Email {email.id} is {email.status.value}: nothing to do.", "info")
    return redirect(url_for("admin.emails", status=EmailStatus.FAILED.value), code=303)


def _work_page(
    endpoint: str,
    status_column: InstrumentedAttribute[Any],
    newest_column: InstrumentedAttribute[Any],
    status: EventOutcome | EmailStatus,
    *,
    max_attempts: int,
) -> str:
    """One tab of events or emails, newest first, with every tab's count."""
    model = status_column.class_
    query = (
        select(model).where(status_column == status).order_by(newest_column.desc(), model.id.desc())
    )
    counts = dict(
        db.session.execute(select(status_column, func.count()).group_by(status_column)).all()
    )
    # Failed first: what waits for an admin, and the tab a phone shows without scrolling.
    members = sorted(type(status), key=lambda member: member.value != "failed")
    return render_template(
        f"admin/{endpoint.removeprefix('admin.')}.html",
        status=status,
        labels={member: member.value.capitalize() for member in members},
        counts={member: counts.get(member, 0) for member in members},
        page_url=lambda n: url_for(endpoint, status=status.value, page=n),
        page=db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=True),
        max_attempts=max_attempts,
    )


Choice = TypeVar("Choice", EventOutcome, EmailStatus)


def _choice(enum: type[Choice], default: Choice) -> Choice:
    raw = request.args.get("status")
    if raw is None:
        return default
    try:
        return enum(raw)
    except ValueError:
        abort(400, f"Choose one of: {', '.join(member.value for member in enum)}.")
