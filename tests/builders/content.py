"""Blog, comment, admin-user and box test data, put straight into the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import insert, update
from werkzeug.security import generate_password_hash

from shop.accounts.models import AdminUser
from shop.blog.models import Article, ArticleStatus, Author, Tag, article_tags
from shop.blog.rendering import render_markdown
from shop.catalog.models import TERMS_MONTHS, Box, Plan
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.extensions import db

_seq = count(1)


def make_author(
    name: str = "Rachel", credentials: str = "Accredited Exercise Physiologist"
) -> Author:
    author = Author(
        name=name,
        slug=f"{name.lower().replace(' ', '-')}-{next(_seq)}",
        credentials=credentials,
        bio=f"{name} trains people.",
        social_links={"instagram": "https://www.instagram.com/example"},
    )
    db.session.add(author)
    db.session.commit()
    return author


def make_article(
    slug: str | None = None,
    *,
    title: str | None = None,
    body: str = "Lift well.\n\nRest well.",
    status: ArticleStatus = ArticleStatus.PUBLISHED,
    published_at: datetime | None = None,
    author: Author | None = None,
    tags: list[str] | None = None,
) -> Article:
    n = next(_seq)
    slug = slug or f"article-{n}"
    article = Article(
        slug=slug,
        title=title or f"Article {n}",
        excerpt=f"Excerpt of article {n}.",
        body_markdown=body,
        body_html=render_markdown(body),
        reading_minutes=1,
        status=status,
        published_at=published_at
        if published_at is not None
        else (None if status == ArticleStatus.DRAFT else utcnow() - timedelta(days=1)),
        author=author or make_author(),
    )
    db.session.add(article)
    for name in tags or []:
        tag = db.session.scalar(db.select(Tag).where(Tag.slug == name)) or Tag(slug=name, name=name)
        article.tags.append(tag)
    db.session.commit()
    return article


def make_comment(
    article: Article,
    *,
    body: str = "Nice one.",
    name: str = "Jo Commenter",
    email: str | None = None,
    url: str = "",
    status: CommentStatus = CommentStatus.APPROVED,
    parent: Comment | None = None,
    created_at: datetime | None = None,
    ip_address: str | None = "203.0.113.7",
) -> Comment:
    comment = Comment(
        article_id=article.id,
        parent_id=parent.id if parent else None,
        thread_id=parent.thread_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_name=name,
        author_email=email or f"commenter{next(_seq)}@example.com",
        author_url=url,
        body=body,
        status=status,
        status_reasons=["Created by a test"],
        ip_address=ip_address,
        created_at=created_at or utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    if comment.thread_id is None:
        comment.thread_id = comment.id
    db.session.commit()
    return comment


def make_admin(email: str, password: str) -> AdminUser:
    admin = AdminUser(email=email, password_hash=generate_password_hash(password, method="scrypt"))
    db.session.add(admin)
    db.session.commit()
    return admin


def make_box(slug: str = "musclebox", name: str = "MuscleBox", position: int = 0) -> Box:
    box = Box(
        slug=slug,
        name=name,
        tagline=f"{name} tagline",
        description=f"{name} description",
        whats_inside=["Protein bar", "Shaker"],
        image_alt=f"The {name}",
        position=position,
    )
    db.session.add(box)
    db.session.commit()
    return box


def make_articles_in_every_status(
    per_status: int = 20, *, author: Author | None = None, now: datetime | None = None
) -> dict[str, list[Article]]:
    """A blog with history: `per_status` drafts, future scheduled articles, published articles
    (a day apart, newest first) and scheduled articles whose time has passed (live), titled
    "<Kind> NN" so a test can find them. Returns them by kind."""
    author = author or make_author("Coach Kim")
    now = now or utcnow()
    made: dict[str, list[Article]] = {"draft": [], "scheduled": [], "published": [], "due": []}
    for n in range(per_status):
        made["draft"].append(
            make_article(
                f"draft-{n:02d}", title=f"Draft {n:02d}", status=ArticleStatus.DRAFT, author=author
            )
        )
        made["scheduled"].append(
            make_article(
                f"scheduled-{n:02d}",
                title=f"Scheduled {n:02d}",
                status=ArticleStatus.SCHEDULED,
                published_at=now + timedelta(days=n + 1),
                author=author,
            )
        )
        made["published"].append(
            make_article(
                f"published-{n:02d}",
                title=f"Published {n:02d}",
                published_at=now - timedelta(days=n + 1),
                author=author,
                tags=["strength"] if n % 2 == 0 else ["mobility"],
            )
        )
        made["due"].append(
            make_article(
                f"due-{n:02d}",
                title=f"Due {n:02d}",
                status=ArticleStatus.SCHEDULED,
                published_at=now - timedelta(hours=n + 1),
                author=author,
            )
        )
    return made


# -- bulk builders: hundreds of rows in a few statements, for tests about data size ------------


def _inserted_ids(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` of `model` in one executemany; their ids, in the order of `rows`."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def _in_order(model: Any, ids: list[int]) -> list[Any]:
    """The rows of `model` with these ids, in the order of `ids`."""
    rows = {row.id: row for row in db.session.scalars(db.select(model).where(model.id.in_(ids)))}
    return [rows[row_id] for row_id in ids]


def make_boxes_bulk(number: int, *, terms: tuple[int, ...] = TERMS_MONTHS) -> list[Box]:
    """`number` active boxes ("Bulk Box i", in that display order), each with an active plan on
    every term in `terms`."""
    n = next(_seq)
    box_ids = _inserted_ids(
        Box,
        [
            {
                "slug": f"bulk-box-{n}-{i}",
                "name": f"Bulk Box {i}",
                "tagline": f"Bulk box {i} tagline",
                "description": f"Bulk box {i} description",
                "whats_inside": ["Protein bar", "Shaker"],
                "image_alt": f"Bulk box {i}",
                "position": 100 + i,
            }
            for i in range(number)
        ],
    )
    if terms:
        db.session.execute(
            insert(Plan),
            [
                {
                    "box_id": box_id,
                    "term_months": term,
                    "price_cents": 4995 * term,
                    "lookup_key": f"bulk-box-{n}-{i}-{term}m",
                }
                for i, box_id in enumerate(box_ids)
                for term in terms
            ],
        )
    db.session.commit()
    return _in_order(Box, box_ids)


def make_articles_bulk(
    number: int,
    *,
    tags: tuple[str, ...] = ("strength", "mobility", "recovery"),
    hero_image_path: str | None = "img/boxes/musclebox.svg",
    now: datetime | None = None,
) -> list[Article]:
    """`number` published articles ("bulk-N-i", an hour apart, the newest first in the returned
    list), each by an author of its own (with credentials and social links) and carrying two
    of `tags` (made when missing): the first tag, which every article carries, and one of the
    others in turn. Each has a hero image at `hero_image_path` and a one-paragraph body."""
    n = next(_seq)
    now = now or utcnow()
    author_ids = _inserted_ids(
        Author,
        [
            {
                "name": f"Bulk Author {i}",
                "slug": f"bulk-author-{n}-{i}",
                "credentials": "Strength coach",
                "bio": f"Bulk author {i} trains people.",
                "social_links": {"instagram": f"https://www.instagram.com/bulk{n}x{i}"},
            }
            for i in range(number)
        ],
    )
    body = "Lift well.\n\nRest well."
    body_html = render_markdown(body)
    article_ids = _inserted_ids(
        Article,
        [
            {
                "slug": f"bulk-{n}-{i}",
                "title": f"Bulk article {i}",
                "excerpt": f"Excerpt of bulk article {i}.",
                "body_markdown": body,
                "body_html": body_html,
                "reading_minutes": 1,
                "hero_image_path": hero_image_path,
                "hero_image_alt": f"Hero of bulk article {i}" if hero_image_path else "",
                "status": ArticleStatus.PUBLISHED,
                "published_at": now - timedelta(hours=i + 1),
                "author_id": author_id,
            }
            for i, author_id in enumerate(author_ids)
        ],
    )
    tag_ids = []
    for name in tags:
        tag = db.session.scalar(db.select(Tag).where(Tag.slug == name))
        if tag is None:
            tag = Tag(slug=name, name=name)
            db.session.add(tag)
            db.session.flush()
        tag_ids.append(tag.id)
    links = [{"article_id": article_id, "tag_id": tag_ids[0]} for article_id in article_ids]
    if len(tag_ids) > 1:
        others = tag_ids[1:]
        links += [
            {"article_id": article_id, "tag_id": others[i % len(others)]}
            for i, article_id in enumerate(article_ids)
        ]
    if links:
        db.session.execute(insert(article_tags), links)
    db.session.commit()
    return _in_order(Article, article_ids)


# A bulk comment thread, by position: (depth, the position it replies to).
_THREAD_SHAPE = ((0, None), (1, 0), (2, 1), (1, 0))


def make_comment_threads_bulk(
    article: Article, number: int, *, start: datetime | None = None
) -> list[Comment]:
    """`number` approved comments on `article` ("Bulk comment i."), a second apart from `start`
    (default: a day ago), in threads of four: a top-level comment, a reply to it, a reply to
    that reply and a second reply to the top-level comment (the last thread may be cut short).
    Returns the top-level comments, oldest first."""
    start = start or utcnow() - timedelta(days=1)
    size = len(_THREAD_SHAPE)
    ids: dict[int, int] = {}  # i -> the id of "Bulk comment i."
    for depth in sorted({depth for depth, _ in _THREAD_SHAPE}):
        indexes = [i for i in range(number) if _THREAD_SHAPE[i % size][0] == depth]
        if not indexes:
            continue
        rows = []
        for i in indexes:
            top = i - i % size
            replies_to = _THREAD_SHAPE[i % size][1]
            rows.append(
                {
                    "article_id": article.id,
                    "parent_id": None if replies_to is None else ids[top + replies_to],
                    "thread_id": ids[top] if depth else None,
                    "depth": depth,
                    "author_name": f"Bulk Reader {i}",
                    "author_email": f"bulk-reader-{i}@example.com",
                    "author_url": "https://example.com/" if i % 5 == 0 else "",
                    "body": f"Bulk comment {i}.",
                    "status": CommentStatus.APPROVED,
                    "status_reasons": ["Created by a test"],
                    "ip_address": "203.0.113.7",
                    "created_at": start + timedelta(seconds=i),
                }
            )
        ids.update(zip(indexes, _inserted_ids(Comment, rows), strict=True))
        if depth == 0:
            # A top-level comment is its own thread.
            db.session.execute(
                update(Comment)
                .where(Comment.id.in_([ids[i] for i in indexes]))
                .values(thread_id=Comment.id)
                .execution_options(synchronize_session=False)
            )
    db.session.commit()
    return _in_order(Comment, [ids[i] for i in range(0, number, size)])
