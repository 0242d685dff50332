"""Read-only selects for the blog.

The public pages' queries load what their page shows in a fixed number of statements, whatever
the number of articles (tests/site/test_statement_counts.py): the relations a page shows are
loaded eagerly, never one row at a time; the sitemap, which lists every article and shows none
of its relations, loads none (and reading one there is an error, not a query).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, case, func, not_, or_, select, true
from sqlalchemy.orm import joinedload, load_only, raiseload, selectinload

from shop.blog.models import (
    Article,
    ArticleSlugRedirect,
    ArticleStatus,
    Author,
    Tag,
    article_tags,
)

VISIBLE_STATUSES = (ArticleStatus.PUBLISHED, ArticleStatus.SCHEDULED)


def _visible(now: datetime) -> ColumnElement[bool]:
    return and_(
        Article.status.in_(VISIBLE_STATUSES),
        Article.published_at.is_not(None),
        Article.published_at <= now,
    )


def published_articles(now: datetime) -> Select[tuple[Article]]:
    """Articles readers may see, newest first, with author and tags loaded."""
    return (
        select(Article)
        .where(_visible(now))
        .options(joinedload(Article.author), selectinload(Article.tags))
        .order_by(Article.published_at.desc(), Article.id.desc())
    )


def sitemap_articles(now: datetime) -> Select[tuple[Article]]:
    """Every article readers may see, newest first, with only what the sitemap shows: its slug
    and when it last changed. Nothing else is loaded, and reading anything else raises instead
    of running a query per article. (Loading tags here would cost a statement per 500 articles:
    selectinload batches its ids.)"""
    return (
        select(Article)
        .where(_visible(now))
        .options(load_only(Article.slug, Article.updated_at, raiseload=True), raiseload("*"))
        .order_by(Article.published_at.desc(), Article.id.desc())
    )


def next_publication(now: datetime) -> Select[tuple[datetime | None]]:
    """When the next scheduled article becomes visible (None when none is waiting)."""
    return select(func.min(Article.published_at)).where(
        Article.status.in_(VISIBLE_STATUSES), Article.published_at > now
    )


def published_articles_tagged(tag: Tag, now: datetime) -> Select[tuple[Article]]:
    return published_articles(now).where(Article.tags.any(Tag.id == tag.id))


def published_article(slug: str, now: datetime) -> Select[tuple[Article]]:
    return published_articles(now).where(Article.slug == slug)


def commentable_article(slug: str, now: datetime) -> Select[tuple[Article]]:
    """The visible article a comment is posted to, alone: nothing a comment needs is in its
    author or tags (a form sent back with errors loads them as the page needs them)."""
    return select(Article).where(_visible(now), Article.slug == slug)


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


# -- the admin's article and author lists -----------------------------------------------------


class ArticleTab(StrEnum):
    """The article list's tabs. Scheduled means "not yet": a scheduled article whose time has
    passed is live, so it is listed with the published ones (as readers see it)."""

    ALL = "all"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


def _is_due(now: datetime) -> ColumnElement[bool]:
    return and_(Article.published_at.is_not(None), Article.published_at <= now)


def _tab_condition(tab: ArticleTab, now: datetime) -> ColumnElement[bool]:
    if tab == ArticleTab.DRAFT:
        return Article.status == ArticleStatus.DRAFT
    if tab == ArticleTab.SCHEDULED:
        return and_(Article.status == ArticleStatus.SCHEDULED, not_(_is_due(now)))
    if tab == ArticleTab.PUBLISHED:
        return or_(
            Article.status == ArticleStatus.PUBLISHED,
            and_(Article.status == ArticleStatus.SCHEDULED, _is_due(now)),
        )
    return true()


def _title_contains(search: str) -> ColumnElement[bool]:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Article.title.ilike(f"%{escaped}%", escape="\\")


def admin_articles(tab: ArticleTab, now: datetime, search: str = "") -> Select[tuple[Article]]:
    """Articles in a tab of the admin list, newest first (by publication time, then by when
    they were written), with their author; `search` matches anywhere in the title, any case."""
    query = (
        select(Article)
        .where(_tab_condition(tab, now))
        .options(joinedload(Article.author))
        .order_by(func.coalesce(Article.published_at, Article.created_at).desc(), Article.id.desc())
    )
    if search:
        query = query.where(_title_contains(search))
    return query


COUNTED_TABS = (ArticleTab.DRAFT, ArticleTab.SCHEDULED, ArticleTab.PUBLISHED)


def article_tab_counts(now: datetime, search: str = "") -> Select[tuple[int, ...]]:
    """One row: how many articles there are in all, then in each of COUNTED_TABS (with the
    same search)."""
    query = select(
        func.count(Article.id),
        *(func.count(case((_tab_condition(tab, now), 1))) for tab in COUNTED_TABS),
    )
    if search:
        query = query.where(_title_contains(search))
    return query


def moved_article(old_slug: str, now: datetime) -> Select[tuple[Article]]:
    """The visible article that used to be at `old_slug` (see ArticleSlugRedirect)."""
    return published_articles(now).where(
        Article.id.in_(
            select(ArticleSlugRedirect.article_id).where(ArticleSlugRedirect.slug == old_slug)
        )
    )


def old_slugs(article_id: int) -> Select[tuple[str]]:
    return (
        select(ArticleSlugRedirect.slug)
        .where(ArticleSlugRedirect.article_id == article_id)
        .order_by(ArticleSlugRedirect.created_at, ArticleSlugRedirect.id)
    )


def comment_count(article_id: int) -> Select[tuple[int]]:
    """Comments of any status on the article (what deleting it deletes)."""
    from shop.comments.models import Comment

    return select(func.count(Comment.id)).where(Comment.article_id == article_id)


def authors_by_name() -> Select[tuple[Author]]:
    return select(Author).order_by(func.lower(Author.name), Author.id)


def article_counts_by_author(author_ids: list[int]) -> Select[tuple[int, int]]:
    """(author id, how many articles of any status are theirs) for the authors given."""
    return (
        select(Article.author_id, func.count(Article.id))
        .where(Article.author_id.in_(author_ids))
        .group_by(Article.author_id)
    )


def author_article_count(author_id: int) -> Select[tuple[int]]:
    return select(func.count(Article.id)).where(Article.author_id == author_id)
