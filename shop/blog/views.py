"""The blog: article list, tag pages, article pages, Atom feed, sitemap and uploaded images.

- `GET /blog/<slug>`: a visible article (published, or scheduled and its time has come; see
  shop.blog.queries). An old slug of a renamed article answers 301 to its current address.
- `GET /media/<name>`: an uploaded hero image (shop.blog.media), cached for a year: a name is
  the hash of the bytes, so it never changes meaning.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from shop.blog.media import hero_image_size, hero_image_url, stored_file
from shop.blog.models import Article
from shop.blog.queries import (
    moved_article,
    next_publication,
    published_article,
    published_articles,
    published_articles_tagged,
    sitemap_articles,
    tag_by_slug,
    tags_in_use,
)
from shop.catalog.queries import active_boxes
from shop.comments.cookies import FORM_STAMP_HOLE, read_commenter_cookie
from shop.comments.forms import CommentForm
from shop.comments.models import Comment
from shop.comments.queries import (
    approved_count,
    approved_replies,
    approved_top_level,
    own_unapproved,
    replyable_comment,
)
from shop.comments.settings import comments_per_page
from shop.db import utcnow
from shop.extensions import db
from shop.site.page_cache import BLOG, CATALOGUE, COMMENTS, hole, shared_page
from shop.site.params import as_id, page_number
from shop.urls import absolute_url

bp = Blueprint("blog", __name__)

ARTICLES_PER_PAGE = 10
OWN_COMMENTS_SESSION_KEY = "own_comment_ids"


def next_article_time() -> datetime | None:
    """The moment a list of articles changes by itself: the next scheduled article goes live."""
    return db.session.scalar(next_publication(utcnow()))


@bp.get("/blog/")
@shared_page(BLOG, args=["page"], until=next_article_time)
def index() -> str:
    page = db.paginate(
        published_articles(utcnow()),
        page=page_number(),
        per_page=ARTICLES_PER_PAGE,
        max_per_page=ARTICLES_PER_PAGE,
    )
    return render_template("blog/index.html", page=page, tag=None)


@bp.get("/blog/tag/<slug>")
@shared_page(BLOG, args=["page"], until=next_article_time)
def tag(slug: str) -> str:
    tag = db.one_or_404(tag_by_slug(slug))
    page = db.paginate(
        published_articles_tagged(tag, utcnow()),
        page=page_number(),
        per_page=ARTICLES_PER_PAGE,
        max_per_page=ARTICLES_PER_PAGE,
    )
    if page.total == 0:
        abort(404)
    return render_template("blog/index.html", page=page, tag=tag)


@bp.get("/blog/<slug>")
# ?replyto= (the form set to answer one comment) is a page for the visitor who pressed Reply:
# kept, every comment would multiply every comment page.
@shared_page(BLOG, CATALOGUE, COMMENTS, args=["page"])
def article(slug: str) -> Response:
    now = utcnow()
    article = db.session.scalar(published_article(slug, now))
    if article is None:
        moved = db.session.scalar(moved_article(slug, now))
        if moved is None:
            abort(404)
        return redirect(url_for("blog.article", slug=moved.slug), code=301)
    form = CommentForm()
    cookie = read_commenter_cookie()
    if cookie.remembers_details:
        form.author.data, form.email.data, form.url.data = cookie.name, cookie.email, cookie.url
        form.remember.data = True
    reply_to = as_id(request.args.get("replyto"))
    if reply_to:
        form.parent_id.data = str(reply_to)
    return render_article(article, form)


def render_article(
    article: Article,
    form: CommentForm,
    status: int = 200,
    form_message: str | None = None,
    *,
    preview: bool = False,
) -> Response:
    """The article page, with its comments and the comment form as given (errors and all).

    `preview`: the editor's unsaved article (shop.admin.articles) on the same template, marked
    as a preview, not indexed, without the comment form; `article` is then an unsaved stand-in.
    """
    per_page = comments_per_page()
    comments = db.paginate(
        approved_top_level(article.id),
        page=page_number(),
        per_page=per_page,
        max_per_page=per_page,
    )
    children: dict[int, list[Comment]] = defaultdict(list)
    thread_ids = [comment.id for comment in comments.items]
    if thread_ids:
        for reply in db.session.scalars(approved_replies(thread_ids)):
            children[reply.parent_id or 0].append(reply)

    own_ids = session.get(OWN_COMMENTS_SESSION_KEY) or []
    own_top_level: list[Comment] = []
    awaiting: set[int] = set()
    if own_ids:
        shown_parents = set(thread_ids) | {c.id for replies in children.values() for c in replies}
        for own in db.session.scalars(own_unapproved(article.id, own_ids)):
            awaiting.add(own.id)
            if own.parent_id is None:
                own_top_level.append(own)
            elif own.parent_id in shown_parents:
                children[own.parent_id].append(own)

    replying_to = None
    parent_id = as_id(form.parent_id.data)
    if parent_id is not None:
        replying_to = db.session.scalar(replyable_comment(article.id, parent_id))
    if replying_to is None:
        form.parent_id.data = ""
    form.rendered_at.data = hole(FORM_STAMP_HOLE)
    boxes = db.session.scalars(active_boxes()).all()
    extra: dict[str, object] = {}
    if request.endpoint != "blog.article":
        # A comment that was not posted is shown at the form's address, which only takes POSTs:
        # the page links lead back to the article.
        extra["page_url"] = lambda number: url_for("blog.article", slug=article.slug, page=number)
    html = render_template(
        "blog/article.html",
        article=article,
        comments=comments,
        children=children,
        # The author's own held comments follow the approved ones, on the last page.
        own_top_level=[] if comments.has_next else own_top_level,
        awaiting=awaiting,
        comment_count=db.session.scalar(approved_count(article.id)) or 0,
        form=form,
        form_message=form_message,
        replying_to=replying_to,
        json_ld=article_json_ld(article),
        boxes=boxes,
        canonical_url=absolute_url("blog.article", slug=article.slug),
        preview=preview,
        **extra,
    )
    response = Response(html, status=status, mimetype="text/html")
    # The form carries this visitor's CSRF token (and maybe their remembered details); a shared
    # page's copy (shop.site.page_cache) gets its own headers.
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    return response


def article_json_ld(article: Article) -> dict[str, object]:
    """schema.org Article for search engines, with the author as a Person."""
    url = absolute_url("blog.article", slug=article.slug)
    author: dict[str, object] = {"@type": "Person", "name": article.author.name}
    if article.author.credentials:
        author["jobTitle"] = article.author.credentials
    if article.author.social_links:
        author["sameAs"] = sorted(article.author.social_links.values())
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "description": article.excerpt,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": article.published_at.isoformat() if article.published_at else None,
        "dateModified": article.updated_at.isoformat(),
        "author": author,
        "publisher": {"@type": "Organization", "name": current_app.config["SITE_NAME"]},
        "keywords": ", ".join(tag.name for tag in article.tags),
        "wordCount": len(article.body_markdown.split()),
    }
    if article.hero_image_path:
        data["image"] = hero_image_url(article.hero_image_path, absolute=True)
    return data


@bp.get("/media/<name>")
def media(name: str) -> Response:
    found = stored_file(name)
    if found is None:
        abort(404)
    path, content_type = found
    response = send_file(path, mimetype=content_type, conditional=True, etag=True)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global("hero_image_url")
def hero_image_url_global(hero_image_path: str | None, absolute: bool = False) -> str | None:
    return hero_image_url(hero_image_path, absolute=absolute)


@bp.app_template_global("hero_image_size")
def hero_image_size_global(hero_image_path: str | None) -> tuple[int, int] | None:
    return hero_image_size(hero_image_path)


@bp.get("/feed.xml")
@shared_page(BLOG, until=next_article_time)
def feed() -> Response:
    articles = db.session.scalars(published_articles(utcnow()).limit(20)).all()
    xml = render_template("blog/feed.xml", articles=articles, updated=_latest(articles))
    return Response(xml, mimetype="application/atom+xml")


@bp.get("/sitemap.xml")
@shared_page(BLOG, CATALOGUE, until=next_article_time)
def sitemap() -> Response:
    now = utcnow()
    articles = db.session.scalars(sitemap_articles(now)).all()
    tags = db.session.scalars(tags_in_use(now)).all()
    boxes = db.session.scalars(active_boxes()).all()
    xml = render_template("blog/sitemap.xml", articles=articles, tags=tags, boxes=boxes)
    return Response(xml, mimetype="application/xml")


def _latest(articles: list[Article]):  # type: ignore[no-untyped-def]
    stamps = [a.updated_at for a in articles] + [a.published_at for a in articles if a.published_at]
    return max(stamps) if stamps else utcnow()


@bp.app_template_global()
def page_url(page_number: int) -> str:
    """This page's URL with another ?page= value."""
    args = request.args.to_dict()
    args["page"] = str(page_number)
    return url_for(request.endpoint or "blog.index", **(request.view_args or {}), **args)
