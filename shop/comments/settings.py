"""The comment settings an admin changes at /admin/settings/comments, stored in the database.

The moderation policy's knobs (links threshold, moderation and blocklist words, blocklisted
emails and IP networks, auto-approval of returning commenters, the age after which comments on an
article are held) and how many top-level comments an article page shows.

The contract:

- One row (`comment_settings`, id 1). Until an admin saves a change there is no row and the
  settings are the environment's (COMMENT_* in shop.config; COMMENTS_PER_PAGE for the page
  size). Once saved, the row is the whole truth: the environment's COMMENT_* lists and numbers no
  longer apply (COMMENT_MIN_SECONDS, the flood and rate limits stay environment settings).
- Read per request with at most one query (`current_comment_settings`), kept on `g` for the rest
  of the request, so a change applies at once in every worker and process.
- `save_comment_settings` writes the row and its audit entry in one transaction and commits.
  The audit entry names which settings changed and list sizes, never their entries: blocklisted
  emails and IP addresses are personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app, g
from sqlalchemy import JSON, CheckConstraint, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shop.audit.services import acting_admin, record_admin_action
from shop.comments.policy import PolicySettings
from shop.comments.queries import COMMENTS_PER_PAGE
from shop.db import Base, utcnow
from shop.extensions import db

SETTINGS_ROW_ID = 1
_G_KEY = "_comment_settings"


class CommentSettingsRow(Base):
    """The saved comment settings: a single row (id 1), absent until an admin saves."""

    __tablename__ = "comment_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    max_links: Mapped[int] = mapped_column()
    moderation_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    blocklist_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    blocklist_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    blocklist_ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    auto_approve_returning: Mapped[bool] = mapped_column(default=True)
    close_after_days: Mapped[int] = mapped_column()
    comments_per_page: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The admin who saved last (their own address, as in the audit log).
    updated_by: Mapped[str] = mapped_column(String(254), default="")


@dataclass(frozen=True)
class CommentSettings:
    """The settings in force: what the policy needs, and the article page's size."""

    max_links: int
    moderation_words: tuple[str, ...]
    blocklist_words: tuple[str, ...]
    blocklist_emails: tuple[str, ...]
    blocklist_ips: tuple[str, ...]
    auto_approve_returning: bool
    close_after_days: int
    comments_per_page: int
    # Where they come from: None while the environment's defaults apply.
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def from_environment(self) -> bool:
        return self.updated_at is None

    def policy(self) -> PolicySettings:
        """The moderation policy's settings (the time stamp rule stays the environment's)."""
        return PolicySettings(
            max_links=self.max_links,
            moderation_words=self.moderation_words,
            blocklist_words=self.blocklist_words,
            blocklist_emails=self.blocklist_emails,
            blocklist_ips=self.blocklist_ips,
            close_after_days=self.close_after_days,
            min_seconds=current_app.config["COMMENT_MIN_SECONDS"],
            auto_approve_returning=self.auto_approve_returning,
        )


# The settings an admin edits, in the order the page and the audit entry list them.
EDITABLE = (
    "max_links",
    "moderation_words",
    "blocklist_words",
    "blocklist_emails",
    "blocklist_ips",
    "auto_approve_returning",
    "close_after_days",
    "comments_per_page",
)
LABELS = {
    "max_links": "links threshold",
    "moderation_words": "moderation words",
    "blocklist_words": "blocked words",
    "blocklist_emails": "blocked emails",
    "blocklist_ips": "blocked IP addresses",
    "auto_approve_returning": "auto-approve returning commenters",
    "close_after_days": "comment-closing age",
    "comments_per_page": "comments per page",
}


def environment_defaults() -> CommentSettings:
    """The settings as the environment gives them (what applies until an admin saves)."""
    config = current_app.config
    return CommentSettings(
        max_links=config["COMMENT_MAX_LINKS"],
        moderation_words=tuple(config["COMMENT_MODERATION_WORDS"]),
        blocklist_words=tuple(config["COMMENT_BLOCKLIST_WORDS"]),
        blocklist_emails=tuple(config["COMMENT_BLOCKLIST_EMAILS"]),
        blocklist_ips=tuple(config["COMMENT_BLOCKLIST_IPS"]),
        auto_approve_returning=True,
        close_after_days=config["COMMENT_CLOSE_AFTER_DAYS"],
        comments_per_page=COMMENTS_PER_PAGE,
    )


def _from_row(row: CommentSettingsRow) -> CommentSettings:
    return CommentSettings(
        max_links=row.max_links,
        moderation_words=tuple(row.moderation_words),
        blocklist_words=tuple(row.blocklist_words),
        blocklist_emails=tuple(row.blocklist_emails),
        blocklist_ips=tuple(row.blocklist_ips),
        auto_approve_returning=row.auto_approve_returning,
        close_after_days=row.close_after_days,
        comments_per_page=row.comments_per_page,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def current_comment_settings() -> CommentSettings:
    """The settings in force for this request: one query at most, then kept on `g`."""
    cached = g.get(_G_KEY)
    if cached is not None:
        return cached
    row = db.session.scalar(
        select(CommentSettingsRow).where(CommentSettingsRow.id == SETTINGS_ROW_ID)
    )
    settings = _from_row(row) if row is not None else environment_defaults()
    setattr(g, _G_KEY, settings)
    return settings


def comments_per_page() -> int:
    """How many top-level comments an article page shows."""
    return current_comment_settings().comments_per_page


@dataclass(frozen=True)
class SettingsChange:
    """What a save changed: the names of the settings, and a line for the owner."""

    changed: tuple[str, ...]
    summary: str


def _describe(name: str, before: object, after: object) -> str:
    label = LABELS[name]
    if isinstance(after, tuple) and isinstance(before, tuple):
        return (
            f"{label} ({len(after)} {'entry' if len(after) == 1 else 'entries'}, was {len(before)})"
        )
    if isinstance(after, bool):
        return f"{label} {'on' if after else 'off'}"
    return f"{label} {before} → {after}"


def _audit_details(name: str, before: object, after: object) -> dict[str, Any]:
    if isinstance(after, tuple) and isinstance(before, tuple):
        # Counts only: blocklisted emails and addresses are people's personal data.
        return {
            "before_count": len(before),
            "after_count": len(after),
            "added": len(set(after) - set(before)),
            "removed": len(set(before) - set(after)),
        }
    return {"before": before, "after": after}


def save_comment_settings(new: CommentSettings) -> SettingsChange:
    """Store `new` as the comment settings (with an audit entry) if anything changed. Commits.

    Returns what changed; nothing is written when nothing changed. Two admins saving at once
    both land, the later one last (the row is written under a lock, or created once).
    """
    old = current_comment_settings()
    changed = tuple(name for name in EDITABLE if getattr(old, name) != getattr(new, name))
    if not changed:
        return SettingsChange((), "Nothing changed: those are the settings already in force.")
    summary = "Changed the comment settings: " + "; ".join(
        _describe(name, getattr(old, name), getattr(new, name)) for name in changed
    )
    values = {name: getattr(new, name) for name in EDITABLE}
    for name, value in values.items():
        if isinstance(value, tuple):
            values[name] = list(value)
    admin = acting_admin()
    now = utcnow()
    for attempt in range(2):
        row = db.session.get(CommentSettingsRow, SETTINGS_ROW_ID, with_for_update=True)
        if row is None:
            row = CommentSettingsRow(id=SETTINGS_ROW_ID)
            db.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by = admin
        row.updated_at = now
        record_admin_action(
            "settings.comments",
            summary,
            subject="settings:comments",
            details={
                "changed": list(changed),
                **{
                    name: _audit_details(name, getattr(old, name), getattr(new, name))
                    for name in changed
                },
            },
        )
        try:
            db.session.commit()
        except IntegrityError:
            # Another admin created the row a moment ago: write over it, under its lock.
            db.session.rollback()
            if attempt:
                raise
            continue
        break
    setattr(g, _G_KEY, replace(new, updated_at=now, updated_by=admin))
    return SettingsChange(changed, summary)
