"""Reading the audit log."""

from __future__ import annotations

from sqlalchemy import Select, select

from shop.audit.models import AuditEntry


def audit_entries(
    *, area: str | None = None, actor: str | None = None
) -> Select[tuple[AuditEntry]]:
    """Entries newest first, optionally only one area's ("comment", "article", ...) or one
    admin's."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if area:
        query = query.where(AuditEntry.action.startswith(f"{area}.", autoescape=True))
    if actor:
        query = query.where(AuditEntry.actor_email == actor)
    return query


def audit_actors() -> Select[tuple[str]]:
    """Every admin who has an entry, for the filter."""
    return select(AuditEntry.actor_email).distinct().order_by(AuditEntry.actor_email)
