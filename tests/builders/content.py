"""Blog, comment, admin-user and box test data, put straight into the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from werkzeug.security import generate_password_hash

from shop.accounts.models import AdminUser
from shop.blog.models import Article, ArticleStatus, Author, Tag
from shop.blog.rendering import render_markdown
from shop.catalog.models import Box
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
