"""The email queue: every email is committed with the change it tells about and sent by a job.

- `queue_email(customer_id, template, key, **ids)` adds a `QueuedEmail` to the caller's
  transaction (it does not commit). A second email with the same `key` is the first one: an
  email asked for twice (a webhook applied again, a double click) is sent once — unless the first
  was dropped as no longer true, when asking again means it is true again.
- After the caller's commit, `enqueue_emails()` hands the new rows to the queue. A row the queue
  never got is found by the sweep (`shop.jobs`), so an email is never lost.
- The job `send_queued_email` claims the row (pending → sending, one conditional UPDATE), asks the
  template's composer (registered by its domain with `@composer`) what to say *now* — None means
  it is no longer true (the subscription ended, the failed payment went through) and it is
  dropped —, renders it, delivers it (SMTP, or the development outbox) and marks it sent.
- A mail server that fails or hangs (MAIL_TIMEOUT_SECONDS) puts the row back to pending; it is
  retried with backoff (`shop.jobs.retry_delay`) and after MAX_ATTEMPTS it is failed, with the
  reason, for an admin to see.
- At most once, except for one window: a worker that dies after the mail server accepted the
  message and before the row is marked sent. Once the claim is older than JOB_LOST_AFTER_SECONDS
  the sweep sends it again, with the same Message-ID, which mail clients use to show it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, or_, select, update

from shop.audit.services import record_admin_action
from shop.db import utcnow
from shop.extensions import db
from shop.jobs import Backlog, due_by, enqueue, job, lost_after, register_backlog, retry_delay
from shop.mail.models import EmailStatus, QueuedEmail
from shop.mail.services import MailNotSent, deliver_rendered, render_email

logger = logging.getLogger(__name__)

# About 3 hours of retries (30 s … 1 h apart) before an email is given up.
MAX_ATTEMPTS = 10
SEND_JOB = "send_queued_email"


@dataclass(frozen=True)
class Composed:
    """What an email says when it is sent: to whom, and its template's context."""

    to: str
    context: dict[str, Any]


Composer = Callable[[QueuedEmail], Composed | None]
COMPOSERS: dict[str, Composer] = {}


def composer(template: str) -> Callable[[Composer], Composer]:
    """Register the function that composes `template` at sending time (None: drop it)."""

    def register(function: Composer) -> Composer:
        COMPOSERS[template] = function
        return function

    return register


def queue_email(
    customer_id: int, template: str, key: str, **context: Any
) -> tuple[QueuedEmail, bool]:
    """Add an email to the current transaction, or find the one already queued under `key`.
    Returns it and whether it is queued now (False: it was already queued or sent).

    One dropped as no longer true is queued again: it was asked for again because it is true
    again (a box marked shipped, put back by mistake, then shipped). `context` holds ids and
    small JSON values only; the composer reads the rest when sending.
    """
    key = key[:255]
    existing = db.session.scalar(select(QueuedEmail).where(QueuedEmail.dedupe_key == key))
    if existing is not None:
        if existing.status is not EmailStatus.DROPPED:
            return existing, False
        existing.status = EmailStatus.PENDING
        existing.attempts = 0
        existing.next_attempt_at = utcnow()
        existing.last_error = None
        return existing, True
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rpartition("@")[2].strip(" >") or None
    email = QueuedEmail(
        customer_id=customer_id,
        template=template,
        context=context,
        dedupe_key=key,
        message_id=make_msgid(domain=domain),
        status=EmailStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(email)
    db.session.flush()
    return email, True


def enqueue_emails(emails: Iterable[QueuedEmail]) -> None:
    """After the commit: hand pending emails to the queue (one job each)."""
    for email_id in [email.id for email in emails if email.status is EmailStatus.PENDING]:
        enqueue(SEND_JOB, email_id)


@job(priority=10)
def send_queued_email(email_id: int) -> str:
    """Send one queued email (see the module docstring). Returns what became of it."""
    if not _claim(email_id):
        return "not pending"
    email = db.session.get(QueuedEmail, email_id)
    assert email is not None
    try:
        composed = COMPOSERS[email.template](email)
        if composed is None:
            email.status = EmailStatus.DROPPED
            email.last_error = "No longer true when its turn came."
            db.session.commit()
            logger.info("email %s (%s) dropped: no longer true", email.id, email.template)
            return "dropped"
        rendered = render_email(email.template, **composed.context)
        db.session.commit()  # what composing wrote (a sign-in link) before it is sent
        deliver_rendered(composed.to, rendered, message_id=email.message_id)
    except MailNotSent as exc:
        return _failed(email_id, str(exc))
    except Exception as exc:
        logger.exception("email %s could not be composed or rendered", email_id)
        return _failed(email_id, type(exc).__name__)
    email.status = EmailStatus.SENT
    email.sent_at = utcnow()
    email.last_error = None
    db.session.commit()
    logger.info("email %s (%s) sent", email.id, email.template)
    return "sent"


def _claim(email_id: int) -> bool:
    """Pending → sending (or a dead worker's claim taken over), atomically. Commits."""
    now = utcnow()
    claimed = db.session.execute(
        update(QueuedEmail)
        .where(
            QueuedEmail.id == email_id,
            or_(
                and_(
                    QueuedEmail.status == EmailStatus.PENDING,
                    QueuedEmail.next_attempt_at <= due_by(),
                ),
                and_(
                    QueuedEmail.status == EmailStatus.SENDING,
                    QueuedEmail.claimed_at < now - lost_after(),
                ),
            ),
        )
        .values(status=EmailStatus.SENDING, claimed_at=now, attempts=QueuedEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def _failed(email_id: int, reason: str) -> str:
    """Back to pending with a delay, or failed for good after MAX_ATTEMPTS. Commits."""
    db.session.rollback()
    email = db.session.get(QueuedEmail, email_id, populate_existing=True)
    assert email is not None
    email.last_error = reason[:255]
    if email.attempts >= MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED
        db.session.commit()
        logger.error("email %s (%s) failed for good: %s", email.id, email.template, reason)
        return "failed"
    delay = retry_delay(email.attempts)
    email.status = EmailStatus.PENDING
    email.next_attempt_at = utcnow() + delay
    db.session.commit()
    logger.warning(
        "email %s (%s) not sent (%s); retry %s in %ss",
        email.id,
        email.template,
        reason,
        email.attempts,
        int(delay.total_seconds()),
    )
    enqueue(SEND_JOB, email_id, delay=delay)
    return "retrying"


def send_again(email_id: int) -> bool:
    """An admin's "send again" for a failed email: pending anew, its tries counted afresh, and
    queued. Commits. False when it is not failed (sent, pending, ...) or does not exist."""
    email = db.session.get(QueuedEmail, email_id)
    if email is None or email.status is not EmailStatus.FAILED:
        return False
    record_admin_action(
        "email.send_again",
        f"Queued email #{email.id} ({email.template}) again after {email.attempts} failed "
        "attempt(s)",
        subject=f"email:{email.id}",
    )
    email.status = EmailStatus.PENDING
    email.attempts = 0
    email.next_attempt_at = utcnow()
    db.session.commit()
    enqueue(SEND_JOB, email_id)
    return True


def _overdue_emails(before: datetime) -> Select[tuple[int]]:
    return select(QueuedEmail.id).where(
        or_(
            and_(QueuedEmail.status == EmailStatus.PENDING, QueuedEmail.next_attempt_at < before),
            # A worker that died mid-send: its claim is taken over.
            and_(QueuedEmail.status == EmailStatus.SENDING, QueuedEmail.claimed_at < before),
        )
    )


def _emails_requeued(ids: list[int]) -> None:
    db.session.execute(
        update(QueuedEmail)
        .where(QueuedEmail.id.in_(ids), QueuedEmail.status == EmailStatus.PENDING)
        .values(next_attempt_at=utcnow())
    )


register_backlog(Backlog("emails", SEND_JOB, _overdue_emails, _emails_requeued))
