"""Reconcile from the admin: asked for on a page, run by a job, its report kept in the audit log.

Reconcile calls Stripe for every subscription, so it never runs in a request. The contract:

- `request_reconcile(admin)` commits a "reconcile.request" audit entry, then queues the
  `run_reconcile` job with its id. While a request is waiting (not yet run, and younger than
  REQUEST_PENDING_FOR) another is not queued: a double click runs reconcile once.
- `run_reconcile` runs `shop.billing.reconcile.reconcile_subscriptions`, which, like
  `flask reconcile`, **applies** the repairs (each subscription in its own transaction), then
  commits a "reconcile.run" entry for the admin who asked, whose details are the report (counts
  and the differences, at most MAX_DIFFERENCES of them). If Stripe cannot be reached the entry
  says reconcile stopped (subscriptions repaired before that stay repaired: each is committed on
  its own).
- `latest_reconcile()` is the newest run and any request still waiting, for the events page.

The report names subscriptions by their Stripe id only: no customer's name, email or address.
The job is registered when this module is imported (shop.admin.jobs imports it, before the app
builds its queue).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Select, select

from shop.audit.models import AuditEntry
from shop.audit.services import record_admin_action
from shop.billing.gateway import PaymentProviderError
from shop.billing.reconcile import Difference, reconcile_subscriptions
from shop.db import utcnow
from shop.extensions import db
from shop.jobs import enqueue, job

logger = logging.getLogger(__name__)

REQUEST_ACTION = "reconcile.request"
RUN_ACTION = "reconcile.run"
# Past this a waiting request is taken to be lost (no worker, queue down): asking again queues
# a new run.
REQUEST_PENDING_FOR = timedelta(minutes=15)
# A report keeps this many differences (the counts are always whole).
MAX_DIFFERENCES = 300


@dataclass(frozen=True)
class ReconcileStatus:
    """The newest finished run, and a request waiting for the worker (if any)."""

    latest: AuditEntry | None
    waiting: AuditEntry | None


def latest_reconcile() -> ReconcileStatus:
    latest = db.session.scalar(_newest(RUN_ACTION))
    request = db.session.scalar(_newest(REQUEST_ACTION))
    waiting = request if request is not None and _is_waiting(request, latest) else None
    return ReconcileStatus(latest, waiting)


def request_reconcile() -> tuple[AuditEntry, bool]:
    """Queue a reconcile run for the signed-in admin. Returns the request's entry and whether a
    new run was queued (False: one asked for moments ago is still waiting). Commits."""
    status = latest_reconcile()
    if status.waiting is not None and utcnow() - status.waiting.created_at < REQUEST_PENDING_FOR:
        return status.waiting, False
    entry = record_admin_action(
        REQUEST_ACTION,
        "Asked for a reconcile with Stripe (repairs are applied)",
    )
    db.session.commit()
    enqueue("run_reconcile", entry.id, entry.actor_email)
    return entry, True


@job()
def run_reconcile(request_id: int, actor: str) -> str:
    """Reconcile every subscription with Stripe and record the report for `actor`."""
    try:
        differences = reconcile_subscriptions()
    except PaymentProviderError as error:
        db.session.rollback()
        logger.warning("reconcile: Stripe could not be reached (request %s)", error.request_id)
        report: dict[str, Any] = {
            "request": request_id,
            "ok": False,
            "error": (
                f"Stripe could not be reached ({error}), so reconcile stopped. Run it again "
                "when Stripe answers; anything repaired before it stopped stays repaired."
            ),
            "repaired": 0,
            "failed": 0,
            "skipped": 0,
            "differences": [],
            "more": 0,
        }
        summary = "Reconcile stopped: Stripe could not be reached"
    else:
        report = build_report(request_id, differences)
        summary = (
            f"Reconciled with Stripe: {report['repaired']} difference(s) repaired, "
            f"{report['failed']} subscription(s) failed, {report['skipped']} skipped"
        )
    record_admin_action(
        RUN_ACTION, summary, subject=f"audit:{request_id}", details=report, actor=actor
    )
    db.session.commit()
    return summary


def build_report(request_id: int, differences: list[Difference]) -> dict[str, Any]:
    """The differences as JSON-ready details (the same words as `flask reconcile` prints)."""
    failed = sum(1 for diff in differences if diff.is_failure)
    skipped = sum(1 for diff in differences if diff.field == "skipped")
    rows = [
        {
            "subscription": diff.stripe_subscription_id,
            "field": diff.field,
            "shop": _shown(diff.shop_value),
            "stripe": _shown(diff.stripe_value),
        }
        for diff in differences[:MAX_DIFFERENCES]
    ]
    return {
        "request": request_id,
        "ok": failed == 0,
        "error": None,
        "repaired": len(differences) - failed - skipped,
        "failed": failed,
        "skipped": skipped,
        "differences": rows,
        "more": max(0, len(differences) - MAX_DIFFERENCES),
    }


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _newest(action: str) -> Select[tuple[AuditEntry]]:
    return (
        select(AuditEntry)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(1)
    )


def _is_waiting(request: AuditEntry, latest: AuditEntry | None) -> bool:
    """A request not yet answered: no run was recorded after it (a run comes after its request)."""
    return latest is None or request.id > latest.id
