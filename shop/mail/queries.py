"""Reading the development outbox."""

from __future__ import annotations

from sqlalchemy import Select, select

from shop.mail.models import OutboxMessage


def outbox_messages(to_address: str | None = None) -> Select[tuple[OutboxMessage]]:
    """Messages in the outbox, newest first; only those to `to_address` when given."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if to_address is not None:
        query = query.where(OutboxMessage.to_address == to_address)
    return query
