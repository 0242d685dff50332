"""Writing the audit log.

`record_admin_action` adds the entry to the current session and never commits: the service that
does the action commits it together with its change, so the log holds an action if and only if
the action happened. A service that rolls back rolls its entry back too.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_login import current_user

from shop.audit.models import AuditEntry
from shop.extensions import db

# Who acted when no admin is signed in: a flask command run by the owner on the server.
COMMAND_LINE = "command line"
SUMMARY_LENGTH = AuditEntry.summary.type.length or 500


def acting_admin() -> str:
    """The signed-in admin's email, or COMMAND_LINE outside a signed-in request."""
    if has_request_context() and current_user.is_authenticated:
        return str(current_user.email)
    return COMMAND_LINE


def record_admin_action(
    action: str,
    summary: str,
    *,
    subject: str = "",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Add an audit entry for `action` to the session (the caller's transaction commits it).

    `actor` defaults to the signed-in admin (see `acting_admin`). `summary` and `details` must
    not hold a customer's or commenter's email, name or address: name them by id.
    """
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[: SUMMARY_LENGTH - 1] + "…"
    entry = AuditEntry(
        actor_email=actor or acting_admin(),
        action=action,
        subject=subject,
        summary=summary,
        details=details or {},
    )
    db.session.add(entry)
    return entry
