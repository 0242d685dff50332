"""Writing to the blog: saving articles, importing them from Markdown files."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from shop.blog.models import Article, ArticleStatus, Author, Tag
from shop.blog.rendering import plain_excerpt, reading_minutes, render_markdown
from shop.db import utcnow
from shop.extensions import db

SOCIAL_PREFIXES = {
    "instagram": "https://www.instagram.com/",
    "twitter": "https://x.com/",
    "x": "https://x.com/",
    "facebook": "https://www.facebook.com/",
    "youtube": "https://www.youtube.com/@",
    "tiktok": "https://www.tiktok.com/@",
}


class ArticleImportError(ValueError):
    """The file is not an article the shop can import; the message says why."""


def slugify(text: str) -> str:
    """A lowercase ASCII slug: "Back Pain!" → "back-pain"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def social_url(network: str, handle: str) -> str:
    """A profile URL from a handle such as "@re.connection_project" (URLs pass through)."""
    handle = handle.strip()
    if handle.startswith(("https://", "http://")):
        return handle
    return SOCIAL_PREFIXES.get(network, "https://") + handle.lstrip("@")


@dataclass(frozen=True)
class ArticleSource:
    """Everything needed to create or update an article, however it arrived."""

    title: str
    slug: str
    body_markdown: str
    author_name: str
    author_credentials: str = ""
    author_bio: str = ""
    author_social: dict[str, str] | None = None
    tags: tuple[str, ...] = ()
    excerpt: str = ""
    status: ArticleStatus = ArticleStatus.PUBLISHED
    published_at: datetime | None = None
    hero_image_path: str | None = None
    hero_image_alt: str = ""


def save_article(source: ArticleSource) -> tuple[Article, bool]:
    """Create the article, or update the one with the same slug. Commits.

    Returns the article and whether it was created. The author is found by name (and updated
    with any credentials, bio or links given); tags are created as needed.
    """
    if not source.title.strip() or not source.body_markdown.strip():
        raise ArticleImportError("An article needs a title and a body.")
    slug = slugify(source.slug or source.title)
    if not slug:
        raise ArticleImportError("The slug must contain letters or digits.")
    if source.hero_image_path and not source.hero_image_alt.strip():
        raise ArticleImportError("A hero image needs alt text (hero_image_alt).")

    author = _upsert_author(source)
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    created = article is None
    if article is None:
        article = Article(slug=slug)
        db.session.add(article)

    article.title = source.title.strip()
    article.body_markdown = source.body_markdown
    article.body_html = render_markdown(source.body_markdown)
    article.reading_minutes = reading_minutes(source.body_markdown)
    article.excerpt = source.excerpt.strip() or plain_excerpt(source.body_markdown)
    article.hero_image_path = source.hero_image_path
    article.hero_image_alt = source.hero_image_alt.strip()
    article.author = author
    article.status = source.status
    if source.published_at is not None:
        article.published_at = source.published_at
    elif article.published_at is None and source.status != ArticleStatus.DRAFT:
        article.published_at = utcnow()
    if source.status == ArticleStatus.SCHEDULED and article.published_at is None:
        raise ArticleImportError("A scheduled article needs published_at.")
    article.tags = [_tag(name) for name in dict.fromkeys(source.tags) if slugify(name)]
    db.session.commit()
    return article, created


def _upsert_author(source: ArticleSource) -> Author:
    name = source.author_name.strip()
    if not name:
        raise ArticleImportError("An article needs an author.")
    author = db.session.scalar(select(Author).where(Author.name == name))
    if author is None:
        author = Author(name=name, slug=_unique_author_slug(name), social_links={})
        db.session.add(author)
    if source.author_credentials:
        author.credentials = source.author_credentials.strip()
    if source.author_bio:
        author.bio = source.author_bio.strip()
    if source.author_social:
        author.social_links = {**(author.social_links or {}), **source.author_social}
    return author


def _unique_author_slug(name: str) -> str:
    base = slugify(name) or "author"
    slug, n = base, 1
    while db.session.scalar(select(Author.id).where(Author.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _tag(name: str) -> Tag:
    slug = slugify(name)
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        tag = Tag(slug=slug, name=name.strip())
        db.session.add(tag)
        db.session.flush()
    return tag


def parse_article_file(path: Path) -> ArticleSource:
    """Read Markdown with YAML front matter (the client's article format)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleImportError(f"Cannot read {path}: {exc}") from exc
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", text, re.DOTALL)
    if not match:
        raise ArticleImportError(f"{path} has no YAML front matter between --- lines.")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ArticleImportError(f"{path}: the front matter is not valid YAML ({exc}).") from exc
    if not isinstance(meta, dict):
        raise ArticleImportError(f"{path}: the front matter must be a mapping.")
    return source_from_metadata(meta, match.group(2).strip() + "\n")


def source_from_metadata(meta: dict[str, Any], body: str) -> ArticleSource:
    """Map front-matter keys to an ArticleSource; unknown keys are ignored."""
    title = str(meta.get("title") or "").strip()
    social = {
        key.removeprefix("author_"): social_url(key.removeprefix("author_"), str(value))
        for key, value in meta.items()
        if key.startswith("author_")
        and key.removeprefix("author_") in {*SOCIAL_PREFIXES, "website"}
        and value
    }
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [part for part in tags.split(",")]
    try:
        status = ArticleStatus(str(meta.get("status") or "published").lower())
    except ValueError as exc:
        raise ArticleImportError("status must be draft, scheduled or published.") from exc
    return ArticleSource(
        title=title,
        slug=str(meta.get("slug") or title),
        body_markdown=body,
        author_name=str(meta.get("author") or ""),
        author_credentials=str(meta.get("author_credentials") or ""),
        author_bio=str(meta.get("author_bio") or ""),
        author_social=social,
        tags=tuple(str(tag).strip() for tag in tags if str(tag).strip()),
        excerpt=str(meta.get("excerpt") or ""),
        status=status,
        published_at=_as_datetime(meta.get("published_at")),
        hero_image_path=(str(meta["hero_image"]) if meta.get("hero_image") else None),
        hero_image_alt=str(meta.get("hero_image_alt") or ""),
    )


def _as_datetime(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ArticleImportError(f"published_at {value!r} is not an ISO date.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
