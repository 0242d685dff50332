"""The article editor through HTTP: the list on a blog of 80 articles, writing, scheduling in
Sydney time, slugs and their redirects, preview, delete, and bad input of every kind."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.blog.models import Article, ArticleSlugRedirect, ArticleStatus, Tag
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import (
    make_article,
    make_articles_in_every_status,
    make_author,
    make_comment,
)
from tests.builders.images import png_bytes
from tests.helpers import csrf_token, text_of, visible_text

SYDNEY_JAN_9AM = "2027-01-15T09:00"  # AEDT (UTC+11): 2027-01-14 22:00 UTC
SYDNEY_GAP = "2027-10-03T02:30"  # the hour Sydney's clocks skip that morning


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, object]:
    return {"MEDIA_DIR": str(tmp_path / "media")}


@pytest.fixture
def author(app):  # type: ignore[no-untyped-def]
    return make_author("Rachel Lifts")


def article_form(client, path: str = "/admin/articles/new", **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "csrf_token": csrf_token(client, path),
        "title": "Deadlift basics",
        "slug": "",
        "author_id": "",
        "excerpt": "",
        "tags": "strength, Technique",
        "hero_image_alt": "",
        "body": "## Set up\n\nFeet under the bar.\n\n<script>alert(1)</script>",
        "status": "draft",
        "publish_at": "",
    }
    data.update(fields)
    return data


def post_article(client, author, path: str = "/admin/articles/new", **fields: Any):  # type: ignore[no-untyped-def]
    fields.setdefault("author_id", str(author.id))
    form_path = path.removesuffix("/preview")
    if not form_path.endswith("/new"):
        form_path = form_path.removesuffix("/edit") + "/edit"
    return client.post(path, data=article_form(client, form_path, **fields))


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def field_error(response, field: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(
        rf'<p class="field-error" id="{field}-error">(.*?)</p>', text_of(response), re.S
    )
    assert match, f"no error at {field}"
    return match.group(1)


# -- the list ---------------------------------------------------------------------------------


def test_list_tabs_count_and_page_eighty_articles_newest_first(admin_client, app):
    make_articles_in_every_status(20)
    page = visible_text(admin_client.get("/admin/articles"))
    assert "All (80)" in page and "Drafts (20)" in page
    # Scheduled articles whose time has passed are live: they count as published.
    assert "Scheduled (20)" in page and "Published (40)" in page

    published = text_of(admin_client.get("/admin/articles?status=published"))
    titles = re.findall(r">((?:Due|Published) \d\d)</a>", published)
    assert len(titles) == 30  # a page
    assert titles[:3] == ["Due 00", "Due 01", "Due 02"]  # an hour ago, two hours ago, ...
    second = text_of(admin_client.get("/admin/articles?status=published&page=2"))
    assert re.findall(r">((?:Due|Published) \d\d)</a>", second)[-1] == "Published 19"
    assert admin_client.get("/admin/articles?status=published&page=3").status_code == 404

    scheduled = text_of(admin_client.get("/admin/articles?status=scheduled"))
    assert set(re.findall(r">(Scheduled \d\d)</a>", scheduled)) == {
        f"Scheduled {n:02d}" for n in range(20)
    }
    assert "Due 00" not in scheduled
    drafts = text_of(admin_client.get("/admin/articles?status=draft"))
    assert len(re.findall(r">Draft \d\d</a>", drafts)) == 20


def test_search_by_title_any_case_and_literal_wildcards(admin_client, app):
    make_articles_in_every_status(5)
    make_article("percent", title="100% effort")
    page = text_of(admin_client.get("/admin/articles?q=draft+0"))
    assert sorted(re.findall(r">(Draft \d\d)</a>", page)) == [f"Draft 0{n}" for n in range(5)]
    assert "Published 00" not in page
    assert ">100% effort</a>" in text_of(admin_client.get("/admin/articles?q=%25"))
    assert "100% effort" not in text_of(admin_client.get("/admin/articles?q=_0"))
    assert "Drafts (0)" in visible_text(admin_client.get("/admin/articles?q=effort"))


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?status=deleted", 400),
        ("?status=%27%20OR%201%3D1", 400),
        ("?q=" + "x" * 201, 400),
        ("?page=0", 404),
        ("?page=abc", 404),
        ("?page=99", 404),
    ],
)
def test_malformed_list_filters_are_refused(admin_client, app, query, status):
    make_article()
    response = admin_client.get("/admin/articles" + query)
    assert response.status_code == status


# -- writing ----------------------------------------------------------------------------------


def test_publishing_a_new_article_creates_tags_and_audits_it(admin_client, author):
    make_article("older", tags=["strength"])
    before = utcnow()
    response = post_article(admin_client, author, status="published")
    assert response.status_code == 303
    article = db.session.scalar(select(Article).where(Article.slug == "deadlift-basics"))
    assert article is not None and article.status == ArticleStatus.PUBLISHED
    assert article.published_at is not None and article.published_at >= before
    assert {tag.name for tag in article.tags} == {"strength", "Technique"}
    assert count(Tag) == 2  # "strength" was reused, "Technique" created
    assert "<script>" not in article.body_html and "<h2>Set up</h2>" in article.body_html
    assert article.excerpt == "Feet under the bar."
    assert audit_actions() == ["article.create", "article.publish"]
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.subject == f"article:{article.id}" and entry.actor_email == "coach@musclebox.test"

    page = admin_client.get(response.headers["Location"])
    assert "is saved and published at /blog/deadlift-basics" in text_of(page)
    public = admin_client.get("/blog/deadlift-basics")
    assert public.status_code == 200 and "Feet under the bar." in text_of(public)


def test_a_draft_is_saved_but_not_shown(admin_client, author, client):
    assert post_article(admin_client, author, title="Work in progress").status_code == 303
    article = db.session.scalar(select(Article))
    assert article.status == ArticleStatus.DRAFT and article.published_at is None
    assert client.get("/blog/work-in-progress").status_code == 404
    assert audit_actions() == ["article.create"]


def test_scheduling_takes_sydney_time_and_stores_utc(admin_client, author, client):
    response = post_article(
        admin_client, author, status="scheduled", publish_at=SYDNEY_JAN_9AM, slug="later"
    )
    assert response.status_code == 303
    article = db.session.scalar(select(Article))
    assert article.status == ArticleStatus.SCHEDULED
    assert article.published_at == datetime(2027, 1, 14, 22, 0, tzinfo=UTC)
    assert audit_actions() == ["article.create", "article.schedule"]
    assert "readers will see it from 15 Jan 2027 at 09:00" in text_of(
        admin_client.get(response.headers["Location"])
    )
    # The editor shows the time back in Sydney time.
    editor = admin_client.get(f"/admin/articles/{article.id}/edit").get_data(as_text=True)
    assert 'value="2027-01-15T09:00"' in editor
    assert client.get("/blog/later").status_code == 404


def test_a_schedule_in_the_past_is_a_form_error_saying_publish_now(admin_client, author):
    past = (utcnow() - timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    response = post_article(admin_client, author, status="scheduled", publish_at=past)
    assert response.status_code == 400
    assert "choose Published to publish now instead" in field_error(response, "publish_at")
    assert count(Article) == 0 and count(AuditEntry) == 0 and count(Tag) == 0
    # What was typed is kept.
    assert 'value="Deadlift basics"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"status": "scheduled", "publish_at": ""}, "publish_at", "needs a date and time"),
        (
            {"status": "published", "publish_at": "2999-01-01T09:00"},
            "publish_at",
            "Choose Scheduled",
        ),
        ({"publish_at": SYDNEY_GAP}, "publish_at", "doesn't exist in Sydney"),
        ({"publish_at": "tomorrow"}, "publish_at", "Enter a date and time"),
        ({"publish_at": "0001-01-01T00:00"}, "publish_at", "between 2000 and 2999"),
        ({"title": ""}, "title", "needs a title"),
        ({"title": "T" * 201}, "title", "at most 200"),
        ({"title": "Evil \u202etxet"}, "title", "text-direction"),
        ({"body": "   "}, "body", "needs a body"),
        ({"body": "x" * 200_001}, "body", "at most 200,000"),
        ({"excerpt": "e" * 1001}, "excerpt", "at most 1000"),
        ({"slug": "Not A Slug!"}, "slug", "lowercase letters"),
        ({"slug": "s" * 161}, "slug", "at most 160"),
        ({"slug": "../../etc/passwd"}, "slug", "lowercase letters"),
        ({"tags": ", ".join(f"tag{n}" for n in range(21))}, "tags", "At most 20 tags"),
        ({"tags": "ok, " + "t" * 81}, "tags", "at most 80"),
        ({"tags": "!!!"}, "tags", "needs a letter"),
        ({"hero_image_alt": "a" * 256}, "hero_image_alt", "at most 255"),
        ({"status": "live"}, "status", "Not a valid choice"),
        ({"author_id": "999"}, "author_id", "Not a valid choice"),
        ({"author_id": ""}, "author_id", "Choose an author"),
    ],
)
def test_bad_input_is_an_error_at_its_field_and_saves_nothing(
    admin_client, author, fields, field, message
):
    response = post_article(admin_client, author, **fields)
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert count(Article) == 0 and count(Tag) == 0 and count(AuditEntry) == 0


def test_without_a_csrf_token_nothing_is_saved(admin_client, author):
    data = article_form(admin_client, author_id=str(author.id), status="published")
    del data["csrf_token"]
    response = admin_client.post("/admin/articles/new", data=data)
    assert response.status_code == 400
    assert count(Article) == 0


# -- slugs ------------------------------------------------------------------------------------


def test_a_duplicate_slug_is_a_form_error(admin_client, author):
    taken = make_article("deadlift-basics", title="The first one")
    response = post_article(admin_client, author)  # the title makes the same slug
    assert response.status_code == 400
    assert f"Another article (#{taken.id}) already uses" in field_error(response, "slug")
    assert count(Article) == 1


def test_renaming_a_published_article_redirects_its_old_slugs(admin_client, author, client):
    article = make_article("squat-depth", title="Squat depth", author=author)
    path = f"/admin/articles/{article.id}/edit"
    assert (
        post_article(
            admin_client, author, path, title="Squat depth", slug="how-deep", status="published"
        ).status_code
        == 303
    )
    assert (
        post_article(
            admin_client, author, path, title="Squat depth", slug="deep-squats", status="published"
        ).status_code
        == 303
    )

    for old in ("squat-depth", "how-deep"):
        response = client.get(f"/blog/{old}")
        assert response.status_code == 301
        assert response.headers["Location"] == "/blog/deep-squats"  # no chain of redirects
    assert client.get("/blog/deep-squats").status_code == 200
    assert "article.update" in audit_actions()
    editor = text_of(admin_client.get(path))
    assert "/blog/squat-depth" in editor and "/blog/how-deep" in editor

    # Another article cannot take an old slug: readers' links would land on it.
    response = post_article(admin_client, author, title="Other", slug="squat-depth")
    assert response.status_code == 400
    assert "still leads readers there" in field_error(response, "slug")

    # The article itself may take an old slug back: it no longer redirects from it.
    assert (
        post_article(
            admin_client, author, path, title="Squat depth", slug="squat-depth", status="published"
        ).status_code
        == 303
    )
    assert client.get("/blog/squat-depth").status_code == 200
    assert client.get("/blog/deep-squats").headers["Location"] == "/blog/squat-depth"
    assert set(db.session.scalars(select(ArticleSlugRedirect.slug))) == {"how-deep", "deep-squats"}


def test_renaming_a_draft_leaves_no_redirect(admin_client, author, client):
    draft = make_article("first-name", status=ArticleStatus.DRAFT, author=author)
    path = f"/admin/articles/{draft.id}/edit"
    assert post_article(admin_client, author, path, slug="second-name").status_code == 303
    assert count(ArticleSlugRedirect) == 0
    assert client.get("/blog/first-name").status_code == 404


def test_an_unpublished_article_redirects_nowhere(admin_client, author, client):
    article = make_article("was-live", author=author)
    path = f"/admin/articles/{article.id}/edit"
    post_article(admin_client, author, path, slug="now-live", status="published")
    assert client.get("/blog/was-live").status_code == 301
    assert (
        post_article(admin_client, author, path, slug="now-live", status="draft").status_code == 303
    )
    assert audit_actions()[-1] == "article.unpublish"
    assert client.get("/blog/was-live").status_code == 404
    assert client.get("/blog/now-live").status_code == 404


# -- editing ----------------------------------------------------------------------------------


def test_editing_keeps_the_publication_date_and_shows_a_due_schedule_as_published(
    admin_client, author
):
    first = utcnow() - timedelta(days=30)
    article = make_article("kept", published_at=first, author=author)
    path = f"/admin/articles/{article.id}/edit"
    assert (
        post_article(admin_client, author, path, title="Kept", status="published").status_code
        == 303
    )
    db.session.refresh(article)
    assert article.published_at == first
    assert audit_actions() == ["article.update"]
    # Saved again as the editor shows it (the time to the minute, in Sydney time): unchanged.
    shown = re.search(
        r'name="publish_at"[^>]*value="([^"]+)"', admin_client.get(path).get_data(as_text=True)
    )
    assert shown and shown.group(1) == first.astimezone(ZoneInfo("Australia/Sydney")).strftime(
        "%Y-%m-%dT%H:%M"
    )
    response = post_article(
        admin_client, author, path, title="Kept", status="published", publish_at=shown.group(1)
    )
    assert response.status_code == 303
    db.session.refresh(article)
    assert article.published_at == first

    due = make_article(
        "went-live", status=ArticleStatus.SCHEDULED, published_at=utcnow() - timedelta(hours=1)
    )
    editor = admin_client.get(f"/admin/articles/{due.id}/edit").get_data(as_text=True)
    assert re.search(r'value="published"[^>]*checked|checked[^>]*value="published"', editor)


def test_unknown_or_impossible_ids_are_404(admin_client, author):
    make_article(author=author)
    token = csrf_token(admin_client, "/admin/articles/new")
    for path in (
        "/admin/articles/999/edit",
        "/admin/articles/999/delete",
        f"/admin/articles/{2**31}/edit",
    ):
        assert admin_client.get(path).status_code == 404, path
    for path in (
        "/admin/articles/999/edit",
        "/admin/articles/999/preview",
        "/admin/articles/999/delete",
    ):
        assert admin_client.post(path, data={"csrf_token": token}).status_code == 404, path


# -- preview ----------------------------------------------------------------------------------


def test_preview_renders_the_public_page_and_saves_nothing(admin_client, author):
    article = make_article("saved-one", title="Saved title", author=author)
    make_comment(article, body="A reader's approved comment.")
    before = {model: count(model) for model in (Article, Tag, AuditEntry, Comment)}
    response = post_article(
        admin_client,
        author,
        f"/admin/articles/{article.id}/preview",
        title="Unsaved title",
        tags="brand-new-tag",
        body="**Bold claim** and <script>alert(1)</script>",
        status="published",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Preview — not saved." in text_of(response)
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert '<h1 id="article-title">Unsaved title</h1>' in page
    assert "<strong>Bold claim</strong>" in page and "<script>alert(1)</script>" not in page
    assert "By Rachel Lifts" in visible_text(response) and "brand-new-tag" in page
    assert "A reader's approved comment." in text_of(response)
    assert 'name="comment"' not in page  # no comment form on a preview

    db.session.refresh(article)
    assert article.title == "Saved title"
    assert {model: count(model) for model in before} == before


def test_preview_of_a_new_article_with_an_image_stores_nothing(admin_client, author, app):
    data = article_form(admin_client, author_id=str(author.id), hero_image_alt="A red square")
    data["hero_image"] = (io.BytesIO(png_bytes()), "hero.png")
    response = admin_client.post("/admin/articles/new/preview", data=data)
    assert response.status_code == 200
    assert 'src="data:image/png;base64,' in response.get_data(as_text=True)
    assert count(Article) == 0 and count(Tag) == 0
    assert not Path(app.config["MEDIA_DIR"]).exists() or not any(
        Path(app.config["MEDIA_DIR"]).iterdir()
    )


def test_preview_with_errors_shows_them_and_saves_nothing(admin_client, author):
    response = post_article(admin_client, author, "/admin/articles/new/preview", title="")
    assert response.status_code == 400
    assert "needs a title" in field_error(response, "title")
    assert count(Article) == 0


def published_dates(response) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """The preview's date as the meta tag, the JSON-LD and the visible <time> give it."""
    page = text_of(response)
    meta = re.search(r'property="article:published_time" content="([^"]+)"', page)
    json_ld = re.search(r'"datePublished": ?"([^"]+)"', page)
    time = re.search(r'<p class="meta">.*?<time datetime="([^"]+)"', page, re.S)
    assert meta and json_ld and time
    return meta.group(1), json_ld.group(1), time.group(1)


def test_preview_is_dated_as_saving_would_date_it(admin_client, author, monkeypatch):
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    monkeypatch.setattr("shop.admin.articles.utcnow", lambda: now)
    monkeypatch.setattr("shop.blog.services.utcnow", lambda: now)
    scheduled = make_article(
        "coming-up",
        author=author,
        status=ArticleStatus.SCHEDULED,
        published_at=now + timedelta(days=3),
    )
    unpublished = make_article(
        "taken-down",
        author=author,
        status=ArticleStatus.DRAFT,
        published_at=now - timedelta(days=40),
    )
    for article, expected in ((scheduled, now), (unpublished, now - timedelta(days=40))):
        path = f"/admin/articles/{article.id}"
        fields = {"slug": article.slug, "status": "published", "publish_at": ""}
        preview = post_article(admin_client, author, f"{path}/preview", **fields)
        assert preview.status_code == 200
        assert published_dates(preview) == (expected.isoformat(),) * 3

        assert post_article(admin_client, author, f"{path}/edit", **fields).status_code == 303
        db.session.refresh(article)
        assert article.published_at == expected  # what the preview showed


def test_preview_refuses_what_saving_would_refuse(admin_client, author):
    article = make_article("live-one", author=author)
    response = post_article(
        admin_client,
        author,
        f"/admin/articles/{article.id}/preview",
        slug="live-one",
        status="scheduled",
        publish_at="2020-01-15T09:00",
    )
    assert response.status_code == 400
    assert "already passed" in field_error(response, "publish_at")
    assert count(AuditEntry) == 0


def test_preview_without_a_csrf_token_is_400(admin_client, author):
    data = article_form(admin_client, author_id=str(author.id))
    del data["csrf_token"]
    assert admin_client.post("/admin/articles/new/preview", data=data).status_code == 400


# -- delete -----------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_the_article_and_its_comments(admin_client, author):
    article = make_article("doomed", title="Doomed", author=author)
    article_id = article.id
    other = make_article("spared", author=author)
    parent = make_comment(article)
    make_comment(article, parent=parent)
    make_comment(article, status=CommentStatus.SPAM)
    make_comment(other)
    path = f"/admin/articles/{article.id}/delete"

    page = visible_text(admin_client.get(path))
    assert "its 3 comments" in page and "Delete the article and its 3 comments" in page
    token = csrf_token(admin_client, path)
    assert admin_client.post(path, data={"csrf_token": token}).status_code == 400
    assert admin_client.post(path, data={"confirm": "delete"}).status_code == 400
    assert db.session.get(Article, article.id) is not None

    response = admin_client.post(path, data={"csrf_token": token, "confirm": "delete"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/articles"
    assert db.session.get(Article, article_id) is None
    assert count(Comment) == 1 and db.session.get(Article, other.id) is not None
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.subject, entry.details["comments"]) == (
        "article.delete",
        f"article:{article_id}",
        3,
    )
    assert "“Doomed” is deleted, with its 3 comments." in text_of(
        admin_client.get("/admin/articles")
    )
