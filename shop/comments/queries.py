"""Read-only selects for comments."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from shop.comments.models import Comment, CommentStatus

# Top-level comments per article page until an admin chooses otherwise (shop.comments.settings).
COMMENTS_PER_PAGE = 50


def approved_top_level(article_id: int) -> Select[tuple[Comment]]:
    """Approved top-level comments of an article, oldest first (paginate this)."""
    return (
        select(Comment)
        .where(
            Comment.article_id == article_id,
            Comment.parent_id.is_(None),
            Comment.status == CommentStatus.APPROVED,
        )
        .order_by(Comment.created_at, Comment.id)
    )


def approved_replies(thread_ids: Collection[int]) -> Select[tuple[Comment]]:
    """Every approved reply in these threads, oldest first."""
    return (
        select(Comment)
        .where(
            Comment.thread_id.in_(thread_ids),
            Comment.parent_id.is_not(None),
            Comment.status == CommentStatus.APPROVED,
        )
        .order_by(Comment.created_at, Comment.id)
    )


def own_unapproved(article_id: int, comment_ids: Collection[int]) -> Select[tuple[Comment]]:
    """This browser's own comments on the article that are not (yet) approved.

    Spam is shown to its author exactly like a held comment, so a robot learns nothing.
    """
    return (
        select(Comment)
        .where(
            Comment.article_id == article_id,
            Comment.id.in_(comment_ids),
            Comment.status.in_((CommentStatus.PENDING, CommentStatus.SPAM)),
        )
        .order_by(Comment.created_at, Comment.id)
    )


def approved_count(article_id: int) -> Select[tuple[int]]:
    return select(func.count(Comment.id)).where(
        Comment.article_id == article_id, Comment.status == CommentStatus.APPROVED
    )


def comments_with_status(status: CommentStatus) -> Select[tuple[Comment]]:
    """Comments in one moderation tab, newest first, with their article."""
    return (
        select(Comment)
        .where(Comment.status == status)
        .options(joinedload(Comment.article))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )


def status_counts() -> Select[tuple[CommentStatus, int]]:
    return select(Comment.status, func.count(Comment.id)).group_by(Comment.status)


def pending_count() -> Select[tuple[int]]:
    return select(func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)


def replyable_comment(article_id: int, comment_id: int) -> Select[tuple[Comment]]:
    """An approved comment of this article that a visitor may reply to."""
    return select(Comment).where(
        Comment.id == comment_id,
        Comment.article_id == article_id,
        Comment.status == CommentStatus.APPROVED,
    )
