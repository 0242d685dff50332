"""The admin's article editor and authors' pages.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/articles?status=<all|draft|scheduled|published>&q=<title>&page=N` — articles,
  newest first, by tab (a scheduled article whose time has passed is live: it is listed as
  published), searched by title.
- `GET|POST /admin/articles/new`, `GET|POST /admin/articles/<id>/edit` — the editor: title,
  slug (from the title when left empty), author, excerpt, tags (comma separated, created as
  needed), hero image (checked by its content: shop.blog.media) and its alt text, Markdown
  body, status with the date and time in shop time (SHOP_TIMEZONE). Saving calls
  `create_article`/`update_article`; what they refuse is shown at its field.
- `POST /admin/articles/new/preview`, `POST /admin/articles/<id>/preview` — the unsaved form
  rendered by the public article page's own view and template, marked as a preview, dated as
  saving would date it (what saving would refuse is shown at its field instead); nothing is
  saved (not even the image).
- `GET|POST /admin/articles/<id>/delete` — the confirmation (saying how many comments go with
  the article), then the deletion.
- `GET /admin/authors`, `GET|POST /admin/authors/new`, `GET|POST /admin/authors/<id>/edit`,
  `GET|POST /admin/authors/<id>/delete` — authors; deleting one who has articles is refused.

Only these editor routes take a file (`hero_image`), and only from a signed-in admin: their
requests may be as large as 4 times HERO_IMAGE_MAX_BYTES plus the usual 1 MB of form, so an image
somewhat over the limit is a form error at its field rather than a bare 413 page.

An unknown id is a 404; a malformed tab or search is a 400; a form with errors comes back
(400) with the errors at their fields and what was typed kept (except the file: browsers never
refill a file input, and the page says so).
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from shop.admin.article_forms import (
    STATUS_LABELS,
    ArticleForm,
    AuthorForm,
    ConfirmDeleteForm,
    chosen_id,
)
from shop.admin.views import bp
from shop.blog.media import (
    ImageRefused,
    check_image,
    hero_image_url,
    is_uploaded,
    readable_size,
)
from shop.blog.models import Article, ArticleStatus, Author
from shop.blog.preview import article_preview
from shop.blog.queries import (
    COUNTED_TABS,
    ArticleTab,
    admin_articles,
    article_counts_by_author,
    article_tab_counts,
    author_article_count,
    authors_by_name,
    comment_count,
    old_slugs,
)
from shop.blog.services import (
    ArticleEdit,
    ArticleRejected,
    AuthorEdit,
    AuthorRejected,
    create_article,
    create_author,
    delete_article,
    delete_author,
    is_visible,
    split_tags,
    update_article,
    update_author,
)
from shop.blog.views import render_article
from shop.comments.forms import CommentForm
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import db
from shop.site.errors import error_response
from shop.site.params import as_id, page_number
from shop.site.uploads import accepts_files

ARTICLES_PER_PAGE = 30
AUTHORS_PER_PAGE = 50
MAX_SEARCH = 200
TAB_LABELS: dict[ArticleTab, str] = {
    ArticleTab.ALL: "All",
    ArticleTab.DRAFT: "Drafts",
    ArticleTab.SCHEDULED: "Scheduled",
    ArticleTab.PUBLISHED: "Published",
}
UPLOAD_ENDPOINTS = frozenset(
    {
        "admin.new_article",
        "admin.edit_article",
        "admin.preview_new_article",
        "admin.preview_article",
    }
)
FILE_AGAIN = "Choose the image again if you want it: browsers don't keep a chosen file when a form comes back."


def _upload_limit() -> int:
    return 4 * current_app.config["HERO_IMAGE_MAX_BYTES"] + current_app.config["MAX_CONTENT_LENGTH"]


@bp.url_value_preprocessor
def allow_hero_image_uploads(endpoint: str | None, values: dict[str, object] | None) -> None:
    """Raise the request size limit for a signed-in admin's upload to the editor, before the
    CSRF check reads the form (url_value_preprocessors run before any before_request)."""
    if (
        endpoint in UPLOAD_ENDPOINTS
        and request.mimetype == "multipart/form-data"
        and current_user.is_authenticated
    ):
        request.max_content_length = _upload_limit()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> Response:
    if request.endpoint in UPLOAD_ENDPOINTS:
        # The only advice on the page: the general one speaks of the 1 MB form limit.
        limit = readable_size(current_app.config["HERO_IMAGE_MAX_BYTES"])
        return error_response(
            413,
            advice=f"That upload was far too large. A hero image can be at most {limit}: "
            "save it smaller, go back and choose it again.",
        )
    return error_response(413)


# -- the list ---------------------------------------------------------------------------------


def _tab() -> ArticleTab:
    try:
        return ArticleTab(request.args.get("status") or ArticleTab.ALL)
    except ValueError:
        abort(400, "Choose one of the tabs: all, drafts, scheduled or published.")


def _search() -> str:
    search = " ".join((request.args.get("q") or "").split())
    if len(search) > MAX_SEARCH:
        abort(400, f"A search is at most {MAX_SEARCH} characters.")
    return search


@bp.get("/articles")
def articles() -> str:
    tab, search, now = _tab(), _search(), utcnow()
    page = db.paginate(
        admin_articles(tab, now, search),
        page=page_number(),
        per_page=ARTICLES_PER_PAGE,
        max_per_page=ARTICLES_PER_PAGE,
        error_out=False,
    )
    if not page.items and page.page > 1:
        abort(404)
    row = db.session.execute(article_tab_counts(now, search)).one()
    counts = {ArticleTab.ALL: row[0], **dict(zip(COUNTED_TABS, row[1:], strict=True))}
    return render_template(
        "admin/articles.html",
        page=page,
        tab=tab,
        search=search,
        labels=TAB_LABELS,
        counts=counts,
        now=now,
        status_labels=STATUS_LABELS,
        is_visible=is_visible,
    )


# -- the editor -------------------------------------------------------------------------------


def _article_or_404(article_id: int) -> Article:
    if as_id(article_id) is None:
        abort(404)
    return db.get_or_404(Article, article_id)


def _author_or_404(author_id: int) -> Author:
    if as_id(author_id) is None:
        abort(404)
    return db.get_or_404(Author, author_id)


def _article_form(article: Article | None) -> ArticleForm:
    """The editor's form: what was posted, or on GET the article as saved (a scheduled article
    already live shows as published, as readers see it)."""
    data = None
    if request.method == "GET" and article is not None:
        status = article.status
        if status == ArticleStatus.SCHEDULED and is_visible(article, utcnow()):
            status = ArticleStatus.PUBLISHED
        data = {
            "title": article.title,
            "slug": article.slug,
            "author_id": str(article.author_id),
            "excerpt": article.excerpt,
            "tags": ", ".join(tag.name for tag in article.tags),
            "hero_image_alt": article.hero_image_alt,
            "body": article.body_markdown,
            "status": status.value,
            "publish_at": (
                article.published_at.astimezone(shop_timezone()).replace(tzinfo=None, second=0)
                if article.published_at
                else None
            ),
        }
    form = ArticleForm(data=data)
    form.author_id.choices = [SelectChoice("", "Choose an author")] + [
        SelectChoice(str(author.id), author.name)
        for author in db.session.scalars(authors_by_name())
    ]
    return form


def _edit_from(form: ArticleForm) -> ArticleEdit | None:
    """The form as an ArticleEdit, with the upload checked; None (errors on the form) if the
    form or the image is not right."""
    valid = form.validate()
    image = None
    upload = form.hero_image.data
    if isinstance(upload, FileStorage) and upload.filename is not None:
        limit = current_app.config["HERO_IMAGE_MAX_BYTES"]
        try:
            image = check_image(
                upload.stream.read(limit + 1), limit, current_app.config["HERO_IMAGE_MAX_SIDE"]
            )
        except ImageRefused as refusal:
            form.hero_image.errors = [*form.hero_image.errors, str(refusal)]
            valid = False
    author_id = chosen_id(form.author_id.data)
    if not valid or author_id is None:
        if author_id is None and not form.author_id.errors:
            form.author_id.errors = [*form.author_id.errors, "Choose an author."]
        return None
    return ArticleEdit(
        title=form.title.data or "",
        slug=form.slug.data or "",
        author_id=author_id,
        excerpt=form.excerpt.data or "",
        tags=tuple(split_tags(form.tags.data or "")),
        body_markdown=(form.body.data or "").replace("\r\n", "\n"),
        status=form.article_status,
        publish_at=form.publish_at_utc,
        hero_image_alt=form.hero_image_alt.data or "",
        hero_image=image,
        remove_hero_image=bool(form.remove_hero_image.data),
    )


def _editor(form: ArticleForm, article: Article | None, status: int = 200) -> tuple[str, int]:
    file_chosen = isinstance(form.hero_image.data, FileStorage) and bool(form.hero_image.data)
    return (
        render_template(
            "admin/article_form.html",
            form=form,
            article=article,
            old_slugs=db.session.scalars(old_slugs(article.id)).all() if article else [],
            hero_url=hero_image_url(article.hero_image_path) if article else None,
            hero_uploaded=is_uploaded(article.hero_image_path) if article else False,
            file_again=FILE_AGAIN if status >= 400 and file_chosen else None,
            live=is_visible(article, utcnow()) if article else False,
            max_size=readable_size(current_app.config["HERO_IMAGE_MAX_BYTES"]),
            max_side=current_app.config["HERO_IMAGE_MAX_SIDE"],
            timezone=current_app.config["SHOP_TIMEZONE"],
        ),
        status,
    )


def _save(form: ArticleForm, article: Article | None) -> Response | tuple[str, int]:
    edit = _edit_from(form)
    if edit is None:
        return _editor(form, article, 400)
    try:
        saved = create_article(edit) if article is None else update_article(article, edit)
    except ArticleRejected as rejection:
        _show_rejection(form, rejection)
        return _editor(form, article, 400)
    flash(_saved_message(saved), "success")
    return redirect(url_for("admin.edit_article", article_id=saved.id), code=303)


def _show_rejection(form: ArticleForm, rejection: ArticleRejected) -> None:
    field = form._fields.get(rejection.field) or form.slug
    field.errors = [*field.errors, str(rejection)]


def _saved_message(article: Article) -> str:
    title = f"“{article.title}”"
    if article.status == ArticleStatus.DRAFT:
        return f"{title} is saved as a draft. Readers can't see it."
    if is_visible(article, utcnow()):
        return f"{title} is saved and published at /blog/{article.slug}."
    when = article.published_at.astimezone(shop_timezone()) if article.published_at else None
    moment = f"{when.day} {when:%b %Y} at {when:%H:%M}" if when else "its time"
    return f"{title} is scheduled: readers will see it from {moment} (Sydney time)."


@bp.route("/articles/new", methods=["GET", "POST"])
@accepts_files("hero_image")
def new_article() -> Response | tuple[str, int]:
    form = _article_form(None)
    if request.method == "POST":
        return _save(form, None)
    return _editor(form, None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@accepts_files("hero_image")
def edit_article(article_id: int) -> Response | tuple[str, int]:
    article = _article_or_404(article_id)
    form = _article_form(article)
    if request.method == "POST":
        return _save(form, article)
    return _editor(form, article)


def _preview(article: Article | None) -> Response | tuple[str, int]:
    form = _article_form(article)
    edit = _edit_from(form)
    author = db.session.get(Author, edit.author_id) if edit else None
    if edit is None or author is None:
        if edit is not None:
            form.author_id.errors = [*form.author_id.errors, "Choose one of the authors."]
        return _editor(form, article, 400)
    try:
        preview = article_preview(edit, article, author, utcnow())
    except ArticleRejected as rejection:
        _show_rejection(form, rejection)
        return _editor(form, article, 400)
    return render_article(preview, CommentForm(formdata=None), preview=True)  # type: ignore[arg-type]


@bp.post("/articles/new/preview")
@accepts_files("hero_image")
def preview_new_article() -> Response | tuple[str, int]:
    return _preview(None)


@bp.post("/articles/<int:article_id>/preview")
@accepts_files("hero_image")
def preview_article(article_id: int) -> Response | tuple[str, int]:
    return _preview(_article_or_404(article_id))


@bp.route("/articles/<int:article_id>/delete", methods=["GET", "POST"])
def delete_article_page(article_id: int) -> Response | tuple[str, int] | str:
    article = _article_or_404(article_id)
    form = ConfirmDeleteForm()
    if request.method == "POST":
        if not form.validate():
            abort(400, "Use the Delete button on the confirmation page.")
        title = article.title
        comments = delete_article(article)
        flash(
            f"“{title}” is deleted, with its {comments} comment{'' if comments == 1 else 's'}.",
            "success",
        )
        return redirect(url_for("admin.articles"), code=303)
    return render_template(
        "admin/article_delete.html",
        article=article,
        form=form,
        comments=db.session.scalar(comment_count(article.id)) or 0,
        live=is_visible(article, utcnow()),
    )


# -- authors ----------------------------------------------------------------------------------


@bp.get("/authors")
def authors() -> str:
    page = db.paginate(
        authors_by_name(),
        page=page_number(),
        per_page=AUTHORS_PER_PAGE,
        max_per_page=AUTHORS_PER_PAGE,
        error_out=False,
    )
    if not page.items and page.page > 1:
        abort(404)
    counts = dict(
        db.session.execute(article_counts_by_author([author.id for author in page.items])).all()
    )
    return render_template("admin/authors.html", page=page, counts=counts)


def _author_form(author: Author | None) -> AuthorForm:
    data = None
    if request.method == "GET" and author is not None:
        data = {
            "name": author.name,
            "slug": author.slug,
            "credentials": author.credentials,
            "bio": author.bio,
            **(author.social_links or {}),
        }
    return AuthorForm(data=data)


def _save_author(form: AuthorForm, author: Author | None) -> Response | tuple[str, int]:
    if form.validate():
        edit = AuthorEdit(
            name=form.name.data or "",
            slug=form.slug.data or "",
            credentials=form.credentials.data or "",
            bio=(form.bio.data or "").replace("\r\n", "\n"),
            social=form.social_values(),
        )
        try:
            saved = create_author(edit) if author is None else update_author(author, edit)
        except AuthorRejected as rejection:
            field = form._fields.get(rejection.field) or form.slug
            field.errors = [*field.errors, str(rejection)]
        else:
            flash(f"{saved.name} is saved.", "success")
            return redirect(url_for("admin.authors"), code=303)
    return render_template("admin/author_form.html", form=form, author=author), 400


@bp.route("/authors/new", methods=["GET", "POST"])
def new_author() -> Response | tuple[str, int] | str:
    form = _author_form(None)
    if request.method == "POST":
        return _save_author(form, None)
    return render_template("admin/author_form.html", form=form, author=None)


@bp.route("/authors/<int:author_id>/edit", methods=["GET", "POST"])
def edit_author(author_id: int) -> Response | tuple[str, int] | str:
    author = _author_or_404(author_id)
    form = _author_form(author)
    if request.method == "POST":
        return _save_author(form, author)
    return render_template("admin/author_form.html", form=form, author=author)


@bp.route("/authors/<int:author_id>/delete", methods=["GET", "POST"])
def delete_author_page(author_id: int) -> Response | tuple[str, int] | str:
    author = _author_or_404(author_id)
    form = ConfirmDeleteForm()
    if request.method == "POST":
        if not form.validate():
            abort(400, "Use the Delete button on the confirmation page.")
        name = author.name
        try:
            delete_author(author)
        except AuthorRejected as refusal:
            flash(str(refusal), "error")
            return redirect(url_for("admin.delete_author_page", author_id=author_id), code=303)
        flash(f"{name} is deleted.", "success")
        return redirect(url_for("admin.authors"), code=303)
    return render_template(
        "admin/author_delete.html",
        author=author,
        form=form,
        articles=db.session.scalar(author_article_count(author.id)) or 0,
    )
