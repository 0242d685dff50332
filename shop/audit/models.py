"""One row per admin action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, utcnow


class AuditEntry(Base):
    """An admin action as it was done: never updated, never deleted by the shop.

    `summary` is written for the owner reading the log; it names things by their shop id, never
    by a person's email or name, so that erasing a person (shop.privacy) leaves nothing of them
    here. `actor_email` is the admin's own address.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_action_created_at", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_email: Mapped[str] = mapped_column(String(254))
    # "<area>.<verb>": comment.approve, shipment.ship, article.publish, privacy.erase, ...
    action: Mapped[str] = mapped_column(String(60))
    # What was acted on, as "<kind>:<id>" (comment:12, subscription:sub_123), or "" for none.
    subject: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
