"""Read-only selects for the blog."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from shop.blog.models import Article, ArticleStatus, Tag, article_tags

VISIBLE_STATUSES = (ArticleStatus.PUBLISHED, ArticleStatus.SCHEDULED)


def published_articles(now: datetime) -> Select[tuple[Article]]:
    """Articles readers may see, newest first, with author and tags loaded."""
    return (
        select(Article)
        .where(
            Article.status.in_(VISIBLE_STATUSES),
            Article.published_at.is_not(None),
            Article.published_at <= now,
        )
        .options(joinedload(Article.author), selectinload(Article.tags))
        .order_by(Article.published_at.desc(), Article.id.desc())
    )


def published_articles_tagged(tag: Tag, now: datetime) -> Select[tuple[Article]]:
    return published_articles(now).where(Article.tags.any(Tag.id == tag.id))


def published_article(slug: str, now: datetime) -> Select[tuple[Article]]:
    return published_articles(now).where(Article.slug == slug)


def tag_by_slug(slug: str) -> Select[tuple[Tag]]:
    return select(Tag).where(Tag.slug == slug)


def tags_in_use(now: datetime) -> Select[tuple[Tag]]:
    """Tags with at least one visible article."""
    visible = published_articles(now).with_only_columns(Article.id).order_by(None)
    return (
        select(Tag)
        .where(
            Tag.id.in_(select(article_tags.c.tag_id).where(article_tags.c.article_id.in_(visible)))
        )
        .order_by(Tag.name)
    )
