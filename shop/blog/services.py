"""Writing to the blog: importing articles from Markdown files, and the admin's article editor
and authors' pages.

Every function that changes something commits once; the editor's write their audit entry
(shop.audit) in that same commit. The editor's rules: a slug is unique among articles and the
old slugs they redirect from; a scheduled time is in the future and a published one is not;
publishing without a time publishes now; a hero image has alt text; an author with articles
cannot be deleted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record_admin_action
from shop.blog.media import CheckedImage, store_image
from shop.blog.models import Article, ArticleSlugRedirect, ArticleStatus, Author, Tag
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


def render_stored_articles() -> int:
    """Render every article's stored body_html again from its Markdown with today's renderer
    (`flask render-articles`, run after a change to shop.blog.rendering). Commits once and
    returns how many articles changed. Their updated_at stays: what they say has not changed,
    so their dateModified and feed entries should not either."""
    changed = 0
    rows = db.session.execute(select(Article.id, Article.body_markdown, Article.body_html)).all()
    for article_id, markdown, stored in rows:
        html = render_markdown(markdown)
        if html != stored:
            db.session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(body_html=html, updated_at=Article.updated_at)
            )
            changed += 1
    db.session.commit()
    return changed


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
    slug = slugify(name)[:80].strip("-")  # Tag.slug's length (NFKD can lengthen a name)
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        tag = Tag(slug=slug, name=name.strip()[:80])
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


# -- the article editor and the authors' pages (shop.admin.articles) --------------------------

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_TAGS = 20
MAX_TAG_LENGTH = 80
AUTHOR_SOCIAL_NETWORKS = ("website", "instagram", "facebook", "youtube", "tiktok", "x")


class ArticleRejected(ValueError):
    """The edit cannot be saved; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AuthorRejected(ArticleRejected):
    """The author cannot be saved or deleted as asked; `field` is "" for the whole form."""


def split_tags(text: str) -> list[str]:
    """ "Strength, mobility ,strength" → ["Strength", "mobility"]: trimmed, blanks dropped, the
    same tag (by slug) once, in the order typed."""
    seen: dict[str, str] = {}
    for part in text.split(","):
        name = " ".join(part.split())
        if name and slugify(name) not in seen:
            seen[slugify(name) or name] = name
    return list(seen.values())


@dataclass(frozen=True)
class ArticleEdit:
    """An article as the admin wrote it in the editor (new or changed), before it is saved.

    `publish_at` is UTC (the form converts from shop time). `hero_image` is a new upload that
    passed `shop.blog.media.check_image`; `remove_hero_image` drops the current one.
    """

    title: str
    slug: str
    author_id: int
    excerpt: str
    tags: tuple[str, ...]
    body_markdown: str
    status: ArticleStatus
    publish_at: datetime | None
    hero_image_alt: str
    hero_image: CheckedImage | None = None
    remove_hero_image: bool = False


def is_visible(article: Article, now: datetime) -> bool:
    """Whether readers see the article now: published or scheduled, and its time has come
    (the rule of shop.blog.queries.published_articles, for one article in hand)."""
    return (
        article.status in (ArticleStatus.PUBLISHED, ArticleStatus.SCHEDULED)
        and article.published_at is not None
        and article.published_at <= now
    )


def create_article(edit: ArticleEdit) -> Article:
    """Save a new article, its tags (created as needed) and its hero image. Commits, with the
    audit entries article.create and, unless it is a draft, article.publish or .schedule.

    Raises ArticleRejected (nothing saved) for a slug in use, an unknown author, a schedule in
    the past, a publication in the future or a hero image without alt text."""
    return _save(Article(), edit)


def update_article(article: Article, edit: ArticleEdit) -> Article:
    """Save the edited article. A visible article whose slug changes keeps its old slug as a
    redirect (see ArticleSlugRedirect). Commits with one audit entry: article.publish,
    .schedule or .unpublish when what readers see changes, else article.update.

    Raises ArticleRejected (nothing saved) as create_article does."""
    return _save(article, edit)


def _save(article: Article, edit: ArticleEdit) -> Article:
    try:
        _apply_edit(article, edit, utcnow())
        db.session.commit()
    except ArticleRejected:
        db.session.rollback()
        raise
    except IntegrityError as error:
        # Another request took the slug (or tag) between our check and the commit.
        db.session.rollback()
        raise ArticleRejected(
            "slug", "That slug was taken a moment ago by another article. Choose another."
        ) from error
    return article


def _apply_edit(article: Article, edit: ArticleEdit, now: datetime) -> None:
    creating = article.id is None
    was_visible = not creating and is_visible(article, now)
    before_status = None if creating else article.status
    before_slug = article.slug

    # Everything that can refuse the edit is checked before anything changes.
    slug = edit.slug or slugify(edit.title)[:160].strip("-")
    if not slug:
        raise ArticleRejected("slug", "Give the article a slug: letters or digits, like “squats”.")
    _check_slug_free(slug, article.id)
    author = db.session.get(Author, edit.author_id)
    if author is None:
        raise ArticleRejected("author_id", "Choose one of the authors.")
    published_at = publication_time(article.published_at, edit, now)
    has_image = edit.hero_image is not None or (
        bool(article.hero_image_path) and not edit.remove_hero_image
    )
    if has_image and not edit.hero_image_alt.strip():
        raise ArticleRejected(
            "hero_image_alt",
            "Describe the image for readers who can't see it (alt text is required with an image).",
        )
    hero_image_path = article.hero_image_path if has_image else None
    if edit.hero_image is not None:
        try:
            hero_image_path = store_image(edit.hero_image)
        except OSError as error:
            raise ArticleRejected(
                "hero_image", "The image couldn't be saved on the server. Please try again."
            ) from error

    before = _snapshot(article) if not creating else {}
    tags = [_tag(name) for name in edit.tags if slugify(name)]
    article.title = edit.title
    article.slug = slug
    article.author = author
    article.body_markdown = edit.body_markdown
    article.body_html = render_markdown(edit.body_markdown)
    article.reading_minutes = reading_minutes(edit.body_markdown)
    article.excerpt = edit.excerpt or plain_excerpt(edit.body_markdown)
    article.tags = tags
    article.hero_image_path = hero_image_path
    article.hero_image_alt = edit.hero_image_alt.strip() if hero_image_path else ""
    article.status = edit.status
    article.published_at = published_at
    if creating:
        db.session.add(article)
    db.session.flush()  # the id, for the redirect and the audit entry

    if was_visible and slug != before_slug:
        _keep_old_slug(article, before_slug)
    if not creating:
        _release_own_old_slug(article, slug)
    changed = [name for name, value in _snapshot(article).items() if before.get(name) != value]
    _audit(article, creating, before_status, was_visible, now, changed, before_slug)


def _snapshot(article: Article) -> dict[str, object]:
    """What the audit entry lists as changed, by field."""
    return {
        "title": article.title,
        "slug": article.slug,
        "author": article.author_id,
        "excerpt": article.excerpt,
        "body": article.body_markdown,
        "tags": [tag.slug for tag in article.tags],
        "hero_image": article.hero_image_path,
        "hero_image_alt": article.hero_image_alt,
        "status": article.status,
        "published_at": article.published_at,
    }


def publication_time(saved: datetime | None, edit: ArticleEdit, now: datetime) -> datetime | None:
    """The published_at that saving `edit` gives an article whose stored one is `saved` (None
    for a new article), or ArticleRejected. Reads nothing and changes nothing, so the editor's
    preview shows the time that saving would store.

    Scheduled: the time given, in the future. Published: the time given (not in the future);
    without one, the stored time if it has passed, else now. Draft: as given, else as stored."""
    if (
        edit.publish_at is not None
        and saved is not None
        and edit.publish_at == saved.replace(second=0, microsecond=0)
    ):
        # The editor shows times to the minute: the same minute back is the time as it was.
        edit = replace(edit, publish_at=saved)
    if edit.status == ArticleStatus.SCHEDULED:
        if edit.publish_at is None:
            raise ArticleRejected("publish_at", "A scheduled article needs a date and time.")
        if edit.publish_at <= now:
            raise ArticleRejected(
                "publish_at",
                "That time has already passed. Choose a later time, or choose Published to "
                "publish now instead.",
            )
        return edit.publish_at
    if edit.status == ArticleStatus.PUBLISHED:
        if edit.publish_at is not None and edit.publish_at > now:
            raise ArticleRejected(
                "publish_at",
                "That time is still to come. Choose Scheduled to publish it then, or clear "
                "the date to publish now.",
            )
        if edit.publish_at is not None:
            return edit.publish_at
        if saved is not None and saved <= now:
            return saved
        return now
    return edit.publish_at or saved


def _check_slug_free(slug: str, article_id: int | None) -> None:
    owner = db.session.scalar(select(Article.id).where(Article.slug == slug))
    if owner is not None and owner != article_id:
        raise ArticleRejected(
            "slug", f"Another article (#{owner}) already uses the slug “{slug}”. Choose another."
        )
    redirect_owner = db.session.scalar(
        select(ArticleSlugRedirect.article_id).where(ArticleSlugRedirect.slug == slug)
    )
    if redirect_owner is not None and redirect_owner != article_id:
        raise ArticleRejected(
            "slug",
            f"“{slug}” was the address of article #{redirect_owner} and still leads readers "
            "there. Choose another slug.",
        )


def _keep_old_slug(article: Article, old_slug: str) -> None:
    exists = db.session.scalar(
        select(ArticleSlugRedirect.id).where(ArticleSlugRedirect.slug == old_slug)
    )
    if exists is None:
        db.session.add(ArticleSlugRedirect(slug=old_slug, article_id=article.id))


def _release_own_old_slug(article: Article, slug: str) -> None:
    """An article taking back one of its own old slugs no longer redirects from it."""
    db.session.execute(
        delete(ArticleSlugRedirect).where(
            ArticleSlugRedirect.slug == slug, ArticleSlugRedirect.article_id == article.id
        )
    )


def _audit(
    article: Article,
    creating: bool,
    before_status: ArticleStatus | None,
    was_visible: bool,
    now: datetime,
    changed: list[str],
    before_slug: str,
) -> None:
    subject = f"article:{article.id}"
    details: dict[str, object] = {"slug": article.slug, "status": article.status.value}
    if article.published_at is not None:
        details["published_at"] = article.published_at.isoformat()
    label = f"“{article.title}”"
    if creating:
        record_admin_action(
            "article.create", f"Article {label} written", subject=subject, details=details
        )
    else:
        details["changed"] = changed
        if before_slug != article.slug:
            details["old_slug"] = before_slug
    visible = is_visible(article, now)
    status_changed = before_status != article.status
    if article.status == ArticleStatus.SCHEDULED and (status_changed or "published_at" in changed):
        action, summary = "article.schedule", f"Article {label} scheduled"
    elif visible and not was_visible:
        action, summary = "article.publish", f"Article {label} published"
    elif was_visible and not visible:
        action, summary = "article.unpublish", f"Article {label} unpublished (now a draft)"
    elif creating:
        return
    else:
        action, summary = "article.update", f"Article {label} updated"
    record_admin_action(action, summary, subject=subject, details=details)


def delete_article(article: Article) -> int:
    """Delete the article with its comments (all of them, any status), tag links and old
    slugs; its tags stay for other articles. Commits with an article.delete audit entry.
    Returns how many comments went with it."""
    from shop.comments.models import Comment  # comments belong to articles, not the reverse

    comments = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.article_id == article.id)
    )
    record_admin_action(
        "article.delete",
        f"Article “{article.title}” deleted with its {comments} comment{'' if comments == 1 else 's'}",
        subject=f"article:{article.id}",
        details={"slug": article.slug, "status": article.status.value, "comments": comments},
    )
    db.session.delete(article)
    db.session.commit()
    return comments or 0


@dataclass(frozen=True)
class AuthorEdit:
    """An author as the admin wrote them: links are handles ("@name") or URLs, by network."""

    name: str
    slug: str
    credentials: str
    bio: str
    social: dict[str, str]


def create_author(edit: AuthorEdit) -> Author:
    """Save a new author. Commits with an author.create audit entry; raises AuthorRejected for
    a slug another author has."""
    return _save_author(Author(), edit, "author.create", "added")


def update_author(author: Author, edit: AuthorEdit) -> Author:
    """Save the author's changes. Commits with an author.update audit entry; raises
    AuthorRejected for a slug another author has."""
    return _save_author(author, edit, "author.update", "updated")


def _save_author(author: Author, edit: AuthorEdit, action: str, done: str) -> Author:
    slug = edit.slug or slugify(edit.name)[:80].strip("-")
    if not slug:
        raise AuthorRejected("slug", "Give the author a slug: letters or digits, like “rachel”.")
    owner = db.session.scalar(select(Author.id).where(Author.slug == slug))
    if owner is not None and owner != author.id:
        raise AuthorRejected("slug", f"Another author already uses the slug “{slug}”.")
    author.name = edit.name
    author.slug = slug
    author.credentials = edit.credentials
    author.bio = edit.bio
    author.social_links = {
        network: social_url(network, value)
        for network, value in edit.social.items()
        if network in AUTHOR_SOCIAL_NETWORKS and value
    }
    if author.id is None:
        db.session.add(author)
    try:
        db.session.flush()
        record_admin_action(
            action,
            f"Author #{author.id} ({slug}) {done}",
            subject=f"author:{author.id}",
            details={"slug": slug},
        )
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise AuthorRejected("slug", "That slug was taken a moment ago. Choose another.") from error
    return author


def delete_author(author: Author) -> None:
    """Delete an author who has no articles. Commits with an author.delete audit entry;
    raises AuthorRejected (field "") while any article, even a draft, is theirs."""
    articles = db.session.scalar(
        select(func.count(Article.id)).where(Article.author_id == author.id)
    )
    if articles:
        raise AuthorRejected(
            "",
            f"{author.name} still has {articles} article{'' if articles == 1 else 's'}. Give "
            f"{'it' if articles == 1 else 'them'} another author, or delete "
            f"{'it' if articles == 1 else 'them'}, first.",
        )
    record_admin_action(
        "author.delete",
        f"Author #{author.id} ({author.slug}) deleted",
        subject=f"author:{author.id}",
        details={"slug": author.slug},
    )
    db.session.delete(author)
    db.session.commit()
