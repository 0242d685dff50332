"""Outgoing email: the queue of emails to send, and the development outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow


class OutboxMessage(Base):
    """An email the shop would have sent (no MAIL_URL is set), readable at /dev/outbox."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EmailStatus(StrEnum):
    PENDING = "pending"  # to send at next_attempt_at (first try, or a retry after a failure)
    SENDING = "sending"  # claimed by a worker at claimed_at
    SENT = "sent"
    DROPPED = "dropped"  # no longer true when its turn came (the subscription ended, ...)
    FAILED = "failed"  # the mail server refused it every time; see last_error


class QueuedEmail(Base):
    """An email to send, committed with the change it tells about and sent by a job.

    It holds ids, never a capability: what it says (and a sign-in link) is worked out when it is
    sent, so it is true then. `dedupe_key` makes a second request for the same email a no-op.
    """

    __tablename__ = "queued_emails"
    __table_args__ = (
        Index("ix_queued_emails_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(60))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(255))
