"""The editor's preview: an unsaved article shaped like a saved one, for the public template.

`article_preview` reads (the author, existing tags) and renders the Markdown with the same
renderer and sanitiser as saving does, but builds no model object: nothing can reach the
session, so a preview cannot save anything, even by an autoflush.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from shop.blog.media import CheckedImage
from shop.blog.models import Article, ArticleStatus, Author, Tag
from shop.blog.rendering import plain_excerpt, reading_minutes, render_markdown
from shop.blog.services import ArticleEdit, publication_time, slugify
from shop.extensions import db


@dataclass(frozen=True)
class PreviewTag:
    slug: str
    name: str


@dataclass
class ArticlePreview:
    """What templates/blog/article.html and article_json_ld read of an article."""

    id: int | None
    slug: str
    title: str
    excerpt: str
    body_markdown: str
    body_html: str
    reading_minutes: int
    hero_image_path: str | None
    hero_image_alt: str
    status: ArticleStatus
    published_at: datetime
    updated_at: datetime
    author: Author
    tags: list[PreviewTag | Tag] = field(default_factory=list)


def article_preview(
    edit: ArticleEdit, saved: Article | None, author: Author, now: datetime
) -> ArticlePreview:
    """The edit as readers would see it once saved, dated as saving would date it (raises
    ArticleRejected, as saving would, for a scheduled time that has passed or a published one
    still to come). A new upload is shown inline (a data: URL, allowed for images by the
    site's CSP) because it is not stored until saved."""
    hero = None if edit.remove_hero_image or saved is None else saved.hero_image_path
    if edit.hero_image is not None:
        hero = data_url(edit.hero_image)
    tags: list[PreviewTag | Tag] = []
    for name in edit.tags:
        slug = slugify(name)[:80].strip("-")
        if slug:
            tags.append(
                db.session.scalar(select(Tag).where(Tag.slug == slug)) or PreviewTag(slug, name)
            )
    return ArticlePreview(
        id=saved.id if saved else None,
        slug=edit.slug or slugify(edit.title)[:160].strip("-") or "preview",
        title=edit.title,
        excerpt=edit.excerpt or plain_excerpt(edit.body_markdown),
        body_markdown=edit.body_markdown,
        body_html=render_markdown(edit.body_markdown),
        reading_minutes=reading_minutes(edit.body_markdown),
        hero_image_path=hero,
        hero_image_alt=edit.hero_image_alt,
        status=edit.status,
        # A draft without a date shows today's, as it would read if published now.
        published_at=publication_time(saved.published_at if saved else None, edit, now) or now,
        updated_at=now,
        author=author,
        tags=sorted(tags, key=lambda tag: tag.name),
    )


def data_url(image: CheckedImage) -> str:
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"
