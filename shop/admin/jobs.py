"""The admin's view of work done off the request path: Stripe events and emails, and reconcile.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/events?status=<failed|all|queued|processed|ignored>&type=<event type>&page=N` —
  Stripe events, newest first: what each was about, how many tries, the last error, and for a
  failed or ignored event a "Process again" button. `all` is every event whatever its outcome.
  Without `status` the page opens on Failed when there are failed events (of the chosen type),
  else on All: what waits for an admin first, and never an empty page while events exist.
  `type` narrows every tab and every tab's count (a select of the types recorded); tabs and
  pages keep it, and choosing a type from the default page lands on that type's default tab.
  A malformed status or type (not printable ASCII, longer than a type can be) is a 400; a
  well-formed type no event has shows an empty list saying so. The foot of the page has the
  reconcile button and the latest report.
- `GET /admin/events/<id>` — one event: its payload (pretty-printed JSON), attempts, error and
  outcome, with "Process again" where it applies.
- `POST /admin/events/<id>/process?status=all&type=&back=event` — queue that event anew
  (`webhooks.process_again`), then back to the All tab (`status=all`) or the event's former
  outcome's tab (keeping the type), or to the event's page.
- `POST /admin/events/reconcile` — queue a reconcile run (`shop.billing.reconcile_report`): it
  applies repairs as `flask reconcile` does, in a job, and its report appears on the events page.
- `GET /admin/emails?status=<failed|pending|sending|sent|dropped>&page=N` — queued emails, failed
  ones by default, with the mail server's last answer; `POST /admin/emails/<id>/send` sends a
  failed one again (`queue.send_again`).

An unknown id is a 404; an event or email in another state is left alone and the page says so.
Every POST carries the CSRF token the app checks for all forms (Flask-WTF's CSRFProtect).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute

from shop.admin.views import bp
from shop.billing.models import EventOutcome, WebhookEvent
from shop.billing.reconcile_report import latest_reconcile, request_reconcile
from shop.billing.webhooks import MAX_ATTEMPTS as EVENT_MAX_ATTEMPTS
from shop.billing.webhooks import process_again
from shop.extensions import db
from shop.jobs import overdue_work
from shop.mail.models import EmailStatus, QueuedEmail
from shop.mail.queue import MAX_ATTEMPTS as EMAIL_MAX_ATTEMPTS
from shop.mail.queue import send_again
from shop.site.params import as_id, page_number

PER_PAGE = 50
TYPE_MAX = WebhookEvent.type.type.length or 120
# The select lists the types recorded; more than this many would make it useless on a phone.
TYPES_SHOWN = 200
REPORT_ROWS_SHOWN = 100
# The events tab of every outcome (`?status=all`).
ALL_EVENTS = "all"


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
    event_type = _event_type_arg()
    conditions = [WebhookEvent.type == event_type] if event_type else []
    by_outcome = dict(
        db.session.execute(
            select(WebhookEvent.outcome, func.count())
            .where(*conditions)
            .group_by(WebhookEvent.outcome)
        ).all()
    )
    # Failed first (what waits for an admin, and the tab a phone shows without scrolling), then
    # every event, then each other outcome.
    counts = {
        EventOutcome.FAILED.value: by_outcome.get(EventOutcome.FAILED, 0),
        ALL_EVENTS: sum(by_outcome.values()),
        **{
            outcome.value: by_outcome.get(outcome, 0)
            for outcome in EventOutcome
            if outcome is not EventOutcome.FAILED
        },
    }
    chosen = request.args.get("status")
    if chosen is None:
        status = EventOutcome.FAILED.value if counts[EventOutcome.FAILED.value] else ALL_EVENTS
    elif chosen in counts:
        status = chosen
    else:
        abort(400, f"Choose one of: {', '.join(counts)}.")
    query = select(WebhookEvent).where(*conditions)
    if status != ALL_EVENTS:
        query = query.where(WebhookEvent.outcome == EventOutcome(status))
    query = query.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc())
    type_args = {"type": event_type} if event_type else {}
    return render_template(
        "admin/events.html",
        status=status,
        # The type form keeps a tab chosen in the URL; from the default page it finds the
        # default tab of the type chosen.
        status_chosen=chosen is not None,
        labels={tab: "All" if tab == ALL_EVENTS else tab.capitalize() for tab in counts},
        counts=counts,
        tab_url=lambda tab: url_for("admin.events", status=tab, **type_args),
        page_url=lambda n: url_for("admin.events", status=status, page=n, **type_args),
        page=db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=True),
        max_attempts=EVENT_MAX_ATTEMPTS,
        all_events=ALL_EVENTS,
        event_type=event_type,
        event_types=db.session.scalars(
            select(WebhookEvent.type).distinct().order_by(WebhookEvent.type).limit(TYPES_SHOWN)
        ).all(),
        subject_of=event_subject,
        reconcile=latest_reconcile(),
        report_rows_shown=REPORT_ROWS_SHOWN,
    )


@bp.get("/events/<raw_id>")
def event_detail(raw_id: str) -> str:
    record = db.session.get(WebhookEvent, as_id(raw_id) or 0) or abort(
        404, "There's no such event."
    )
    return render_template(
        "admin/event.html",
        record=record,
        subject=event_subject(record),
        payload=json.dumps(record.payload, indent=2, ensure_ascii=False, default=str),
        max_attempts=EVENT_MAX_ATTEMPTS,
    )


@bp.post("/events/<raw_id>/process")
def process_event(raw_id: str) -> Response:
    record = db.session.get(WebhookEvent, as_id(raw_id) or 0) or abort(404)
    outcome = record.outcome
    back_to_event = request.args.get("back") == "event"
    event_type = None if back_to_event else _event_type_arg()
    back_to_all = request.args.get("status") == ALL_EVENTS
    if process_again(record.id):
        db.session.expire_all()
        flash(
            f"Event {record.stripe_event_id} queued again: {record.outcome.value} now.", "success"
        )
    else:
        flash(f"Event {record.stripe_event_id} is {record.outcome.value}: nothing to do.", "info")
    if back_to_event:
        return redirect(url_for("admin.event_detail", raw_id=record.id), code=303)
    tab = ALL_EVENTS if back_to_all else outcome.value
    return redirect(url_for("admin.events", status=tab, type=event_type), code=303)


@bp.post("/events/reconcile")
def run_reconcile() -> Response:
    _entry, queued = request_reconcile()
    if not queued:
        flash(
            "A reconcile asked for moments ago is still waiting for the job worker: its report "
            "appears below when it is done.",
            "info",
        )
    else:
        flash(
            "Reconcile with Stripe is queued: it repairs what differs, and its report appears "
            "below when it is done.",
            "success",
        )
    return redirect(url_for("admin.events", _anchor="reconcile"), code=303)


def event_subject(record: WebhookEvent) -> tuple[str, str] | None:
    """(object kind, object id) of what an event is about, read from its payload."""
    data = record.payload.get("data") if isinstance(record.payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    kind = obj.get("object")
    return (kind if isinstance(kind, str) else "object"), obj["id"]


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
    where: list[ColumnElement[bool]] | None = None,
    args: dict[str, str] | None = None,
    **context: object,
) -> str:
    """One tab of events or emails, newest first, with every tab's count (all narrowed by
    `where`; `args` are the filter's query-string arguments, kept by tabs and pages)."""
    model = status_column.class_
    conditions = where or []
    query = (
        select(model)
        .where(status_column == status, *conditions)
        .order_by(newest_column.desc(), model.id.desc())
    )
    counts = dict(
        db.session.execute(
            select(status_column, func.count()).where(*conditions).group_by(status_column)
        ).all()
    )
    # Failed first: what waits for an admin, and the tab a phone shows without scrolling.
    members = sorted(type(status), key=lambda member: member.value != "failed")
    filter_args = args or {}
    return render_template(
        f"admin/{endpoint.removeprefix('admin.')}.html",
        status=status,
        labels={member: member.value.capitalize() for member in members},
        counts={member: counts.get(member, 0) for member in members},
        tab_url=lambda tab: url_for(endpoint, status=tab.value, **filter_args),
        page_url=lambda n: url_for(endpoint, status=status.value, page=n, **filter_args),
        page=db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=True),
        max_attempts=max_attempts,
        **context,
    )


def _event_type_arg() -> str | None:
    """?type= as an event type to filter by; 400 for text no Stripe event type could be."""
    raw = request.args.get("type", "")
    if not raw:
        return None
    if len(raw) > TYPE_MAX or not raw.isascii() or not raw.isprintable() or " " in raw:
        abort(400, "That isn't a Stripe event type. Choose one from the list.")
    return raw


Choice = TypeVar("Choice", EventOutcome, EmailStatus)


def _choice(enum: type[Choice], default: Choice) -> Choice:
    raw = request.args.get("status")
    if raw is None:
        return default
    try:
        return enum(raw)
    except ValueError:
        abort(400, f"Choose one of: {', '.join(member.value for member in enum)}.")
