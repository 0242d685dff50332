"""Reader comments on articles, threaded, with the moderation status and why it was given."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.blog.models import Article
from shop.db import Base, TimestampMixin, enum_column

MAX_DEPTH = 4  # depth 0 is a top-level comment, so threads are at most five levels deep


class CommentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"


class Comment(TimestampMixin, Base):
    """A comment. The email is private: it is shown to admins only and never rendered publicly."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_article_id_status_created_at", "article_id", "status", "created_at"),
        Index("ix_comments_thread_id_status", "thread_id", "status"),
        Index("ix_comments_status_created_at", "status", "created_at"),
        Index("ix_comments_author_email_created_at", "author_email", "created_at"),
        Index("ix_comments_ip_address_created_at", "ip_address", "created_at"),
        UniqueConstraint("article_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    # The top-level comment of this thread (its own id for a top-level comment), so one
    # query fetches every reply shown under a page of top-level comments.
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(default=0)
    author_name: Mapped[str] = mapped_column(String(245))
    author_email: Mapped[str] = mapped_column(String(100))
    author_url: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[CommentStatus] = mapped_column(
        enum_column(CommentStatus), default=CommentStatus.PENDING
    )
    # The status a trashed comment had, so "restore" puts it back where it was.
    status_before_trash: Mapped[CommentStatus | None] = mapped_column(enum_column(CommentStatus))
    status_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # sha256 of the submitted email and text: a unique key that refuses the same comment twice
    # on one article, even from two requests at once.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    is_staff_reply: Mapped[bool] = mapped_column(default=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    article: Mapped[Article] = relationship()
