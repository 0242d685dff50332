"""Operations on comments: submitting them and moderating them. Each commits once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record_admin_action
from shop.blog.models import Article
from shop.comments.models import MAX_DEPTH, Comment, CommentStatus
from shop.comments.policy import PolicySettings, Submission, decide
from shop.comments.settings import current_comment_settings
from shop.db import utcnow
from shop.extensions import db


class CommentRejected(Exception):
    """The comment was not stored; the message is shown to the visitor."""

    status_code = 400


class DuplicateComment(CommentRejected):
    status_code = 409


class CommentFlood(CommentRejected):
    status_code = 429


class InvalidParent(CommentRejected):
    status_code = 400


@dataclass(frozen=True)
class CommentInput:
    body: str
    author_name: str
    author_email: str
    author_url: str
    parent_id: int | None
    honeypot: str
    seconds_since_render: float | None


@dataclass(frozen=True)
class Visitor:
    ip_address: str | None
    user_agent: str | None
    # Comment ids named by the visitor's signed commenter cookie.
    cookie_comment_ids: tuple[int, ...] = ()


def policy_settings() -> PolicySettings:
    """The moderation policy in force: the admin's comment settings (shop.comments.settings)."""
    return current_comment_settings().policy()


def _fingerprint(email: str, body: str) -> str:
    return hashlib.sha256(f"{email}\n{body.strip()}".encode()).hexdigest()


def submit_comment(article: Article, data: CommentInput, visitor: Visitor) -> Comment:
    """Store a visitor's comment with the status the moderation policy gives it. Commits.

    Raises InvalidParent (400), DuplicateComment (409) or CommentFlood (429); nothing is stored
    then.
    """
    email = data.author_email.strip().lower()
    now = utcnow()
    parent = _reply_parent(article, data.parent_id)
    fingerprint = _fingerprint(email, data.body)

    duplicate = db.session.scalar(
        select(Comment.id).where(
            Comment.article_id == article.id, Comment.fingerprint == fingerprint
        )
    )
    if duplicate is not None:
        raise DuplicateComment("You've already posted that comment.")

    flood_since = now - timedelta(seconds=current_app.config["COMMENT_FLOOD_SECONDS"])
    same_sender = [Comment.author_email == email]
    if visitor.ip_address:
        same_sender.append(Comment.ip_address == visitor.ip_address)
    recent = db.session.scalar(
        select(Comment.id).where(Comment.created_at >= flood_since, or_(*same_sender)).limit(1)
    )
    if recent is not None:
        raise CommentFlood(
            "You're commenting too quickly. Please wait a few seconds and try again."
        )

    proven = bool(visitor.cookie_comment_ids) and (
        db.session.scalar(
            select(Comment.id)
            .where(
                Comment.id.in_(visitor.cookie_comment_ids),
                Comment.author_email == email,
                Comment.status == CommentStatus.APPROVED,
            )
            .limit(1)
        )
        is not None
    )
    claims_known = not proven and (
        db.session.scalar(
            select(Comment.id)
            .where(
                Comment.author_email == email,
                func.lower(Comment.author_name) == data.author_name.strip().lower(),
                Comment.status == CommentStatus.APPROVED,
            )
            .limit(1)
        )
        is not None
    )
    decision = decide(
        Submission(
            body=data.body,
            author_name=data.author_name,
            author_email=email,
            author_url=data.author_url,
            ip_address=visitor.ip_address,
            now=now,
            article_published_at=article.published_at,
            seconds_since_render=data.seconds_since_render,
            honeypot=data.honeypot,
            proven_returning_commenter=proven,
            claims_known_identity=claims_known,
        ),
        policy_settings(),
    )

    comment = Comment(
        article_id=article.id,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_name=data.author_name.strip(),
        author_email=email,
        author_url=data.author_url.strip(),
        body=data.body.strip(),
        status=decision.status,
        status_reasons=list(decision.reasons),
        fingerprint=fingerprint,
        thread_id=parent.thread_id if parent else None,
        ip_address=visitor.ip_address,
        user_agent=(visitor.user_agent or "")[:255] or None,
        created_at=now,
    )
    db.session.add(comment)
    try:
        db.session.flush()
        if comment.thread_id is None:
            comment.thread_id = comment.id
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise DuplicateComment("You've already posted that comment.") from exc
    return comment


def _reply_parent(article: Article, parent_id: int | None) -> Comment | None:
    """The comment being replied to. Replies below the deepest level join their parent's level."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is None or parent.article_id != article.id or parent.status != CommentStatus.APPROVED:
        raise InvalidParent("The comment you're replying to isn't available.")
    while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
        parent = db.session.get(Comment, parent.parent_id)
        assert parent is not None
    return parent


class ModerationAction(StrEnum):
    APPROVE = "approve"
    UNAPPROVE = "unapprove"
    SPAM = "spam"
    TRASH = "trash"
    RESTORE = "restore"
    DELETE = "delete"


_TARGET_STATUS = {
    ModerationAction.APPROVE: CommentStatus.APPROVED,
    ModerationAction.UNAPPROVE: CommentStatus.PENDING,
    ModerationAction.SPAM: CommentStatus.SPAM,
    ModerationAction.TRASH: CommentStatus.TRASH,
}


# Which statuses each action applies to (the admin's tabs offer exactly these). Deleting
# for good is only for what is already in the spam or the trash.
_ACTION_APPLIES_TO = {
    ModerationAction.APPROVE: {CommentStatus.PENDING},
    ModerationAction.UNAPPROVE: {CommentStatus.APPROVED},
    ModerationAction.SPAM: {CommentStatus.PENDING, CommentStatus.APPROVED},
    ModerationAction.TRASH: {CommentStatus.PENDING, CommentStatus.APPROVED},
    ModerationAction.RESTORE: {CommentStatus.SPAM, CommentStatus.TRASH},
    ModerationAction.DELETE: {CommentStatus.SPAM, CommentStatus.TRASH},
}
HELD_WITH_PARENT = "Held because the comment it replies to was taken down"


@dataclass(frozen=True)
class ModerationResult:
    changed: int = 0
    # Approvals that must wait for the comment they reply to (a reply is never shown alone).
    waiting_for_parent: int = 0
    # Approved replies taken down with the comment they answer (now pending again).
    replies_held: int = 0


def moderate(
    comment_ids: Iterable[int], action: ModerationAction, admin_email: str
) -> ModerationResult:
    """Apply one moderation action to the given comments. Commits once.

    A reply is shown only under its parent, so: a reply is approved only once the comment it
    answers is (parents in the same batch count), and taking an approved comment down holds
    its approved replies as pending, with the reason. Comments whose status the action does
    not apply to are left as they are.
    """
    ids = sorted(set(comment_ids))
    if not ids:
        return ModerationResult()
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.id.in_(ids), Comment.status.in_(_ACTION_APPLIES_TO[action]))
        .order_by(Comment.depth, Comment.id)
    ).all()
    if action is ModerationAction.DELETE:
        # Replies go with their parent (ON DELETE CASCADE), so the thread never dangles.
        deleted = [c.id for c in comments]
        result = db.session.execute(delete(Comment).where(Comment.id.in_(deleted)))
        _record_moderation(action, deleted, admin_email)
        db.session.commit()
        return ModerationResult(changed=result.rowcount or 0)

    stamp = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    changed_ids: list[int] = []
    waiting = held = 0
    for comment in comments:
        target = _target_status(comment, action)
        if target == CommentStatus.APPROVED and not _parent_shown(comment):
            if action is ModerationAction.APPROVE:
                waiting += 1
                continue
            target = CommentStatus.PENDING  # restored, but its parent is not on the page
        if comment.status == CommentStatus.APPROVED and target != CommentStatus.APPROVED:
            held += _hold_approved_replies(comment, stamp)
        if target == CommentStatus.TRASH:
            comment.status_before_trash = comment.status
        comment.status = target
        comment.status_reasons = [
            *comment.status_reasons,
            f"{target.value.capitalize()} by {admin_email} on {stamp}",
        ]
        db.session.flush()
        changed_ids.append(comment.id)
    _record_moderation(action, changed_ids, admin_email, replies_held=held)
    db.session.commit()
    return ModerationResult(changed=len(changed_ids), waiting_for_parent=waiting, replies_held=held)


# The audit log keeps at most this many ids of one bulk action (the count is always exact).
AUDITED_IDS = 200
_PAST_TENSE = {
    ModerationAction.APPROVE: "Approved",
    ModerationAction.UNAPPROVE: "Unapproved",
    ModerationAction.SPAM: "Marked as spam",
    ModerationAction.TRASH: "Trashed",
    ModerationAction.RESTORE: "Restored",
    ModerationAction.DELETE: "Deleted for good",
}


def _record_moderation(
    action: ModerationAction, ids: list[int], admin_email: str, *, replies_held: int = 0
) -> None:
    """One audit entry per moderation that changed something (a no-op is not an action)."""
    if not ids:
        return
    shown = ", ".join(f"#{comment_id}" for comment_id in ids[:5]) + (", …" if len(ids) > 5 else "")
    noun = "comment" if len(ids) == 1 else "comments"
    summary = f"{_PAST_TENSE[action]} {len(ids)} {noun} ({shown})"
    if replies_held:
        summary += f"; {replies_held} approved repl{'y' if replies_held == 1 else 'ies'} held"
    record_admin_action(
        f"comment.{action.value}",
        summary,
        subject=f"comment:{ids[0]}" if len(ids) == 1 else "",
        details={"ids": ids[:AUDITED_IDS], "count": len(ids), "replies_held": replies_held},
        actor=admin_email,
    )


def _target_status(comment: Comment, action: ModerationAction) -> CommentStatus:
    if action is ModerationAction.RESTORE:
        if comment.status == CommentStatus.TRASH and comment.status_before_trash:
            return comment.status_before_trash
        return CommentStatus.PENDING
    return _TARGET_STATUS[action]


def _parent_shown(comment: Comment) -> bool:
    if comment.parent_id is None:
        return True
    parent = db.session.get(Comment, comment.parent_id)
    return parent is not None and parent.status == CommentStatus.APPROVED


def _hold_approved_replies(comment: Comment, stamp: str) -> int:
    """Hold every approved reply below `comment` (they would have nowhere to show)."""
    thread = db.session.scalars(
        select(Comment).where(Comment.thread_id == comment.thread_id, Comment.depth > comment.depth)
    ).all()
    below, frontier = [], {comment.id}
    for reply in sorted(thread, key=lambda c: c.depth):
        if reply.parent_id in frontier:
            frontier.add(reply.id)
            below.append(reply)
    held = 0
    for reply in below:
        if reply.status == CommentStatus.APPROVED:
            reply.status = CommentStatus.PENDING
            reply.status_reasons = [*reply.status_reasons, f"{HELD_WITH_PARENT} ({stamp})"]
            held += 1
    return held


def edit_comment_text(comment: Comment, body: str, admin_email: str) -> None:
    """Replace a comment's text (an admin's edit). Commits."""
    body = body.strip()
    if not body:
        raise CommentRejected("A comment can't be empty.")
    comment.body = body
    comment.status_reasons = [
        *comment.status_reasons,
        f"Text edited by {admin_email} on {utcnow().strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    record_admin_action(
        "comment.edit",
        f"Edited the text of comment #{comment.id}",
        subject=f"comment:{comment.id}",
        actor=admin_email,
    )
    db.session.commit()


def approve_and_reply(comment: Comment, body: str, admin_email: str, display_name: str) -> Comment:
    """Approve a comment and post the admin's reply under it, approved at once. Commits."""
    body = body.strip()
    if not body:
        raise CommentRejected("Write a reply first.")
    now = utcnow()
    if comment.status != CommentStatus.APPROVED and not _parent_shown(comment):
        raise CommentRejected(
            "This comment replies to one that isn't approved. Approve that one first."
        )
    approving = comment.status != CommentStatus.APPROVED
    if approving:
        comment.status = CommentStatus.APPROVED
        comment.status_reasons = [
            *comment.status_reasons,
            f"Approved by {admin_email} on {now.strftime('%Y-%m-%d %H:%M UTC')}",
        ]
    parent = comment
    while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
        grand = db.session.get(Comment, parent.parent_id)
        assert grand is not None
        parent = grand
    reply = Comment(
        article_id=comment.article_id,
        parent_id=parent.id,
        thread_id=parent.thread_id or parent.id,
        depth=parent.depth + 1,
        author_name=display_name,
        author_email=admin_email,
        author_url="",
        body=body,
        status=CommentStatus.APPROVED,
        status_reasons=[f"Reply by admin {admin_email}"],
        is_staff_reply=True,
        created_at=now,
    )
    db.session.add(reply)
    db.session.flush()
    record_admin_action(
        "comment.reply",
        f"Replied to comment #{comment.id} (reply #{reply.id})"
        + (", approving it" if approving else ""),
        subject=f"comment:{comment.id}",
        details={"reply_id": reply.id},
        actor=admin_email,
    )
    db.session.commit()
    return reply


def purge_comment_ips(now: datetime, retention_days: int) -> int:
    """Forget the IP address and browser of comments older than the retention period. Commits."""
    cutoff = now - timedelta(days=retention_days)
    result = db.session.execute(
        update(Comment)
        .where(
            Comment.created_at < cutoff,
            or_(Comment.ip_address.is_not(None), Comment.user_agent.is_not(None)),
        )
        .values(ip_address=None, user_agent=None)
    )
    db.session.commit()
    return result.rowcount or 0
