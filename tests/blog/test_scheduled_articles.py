"""Scheduled articles appear on time without anyone acting: every public page asks "is its
time now?", so moving the clock past an article's time shows it everywhere at once. Pages kept
in the page cache are kept only until the next scheduled article's time, so they show it too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.blog.models import ArticleStatus
from shop.db import utcnow
from tests.builders.content import make_article, make_articles_in_every_status, make_author
from tests.helpers import text_of

PUBLIC_PAGES = ("/blog/", "/blog/tag/kettlebells", "/feed.xml", "/sitemap.xml")


@pytest.fixture
def scheduled(app):  # type: ignore[no-untyped-def]
    """A blog of 80 articles, plus one scheduled for tomorrow morning with its own tag."""
    now = utcnow()
    author = make_author("Coach Kim")
    make_articles_in_every_status(20, author=author, now=now)
    make_article(
        "kettlebell-swing", title="Older kettlebell piece", tags=["kettlebells"], author=author
    )
    return make_article(
        "swing-school",
        title="Swing school",
        status=ArticleStatus.SCHEDULED,
        published_at=now + timedelta(hours=10),
        tags=["kettlebells"],
        author=author,
    )


def move_clock(monkeypatch, to) -> None:  # type: ignore[no-untyped-def]
    """The shop's clock, as the blog's pages and the page cache read it."""
    monkeypatch.setattr("shop.blog.views.utcnow", lambda: to)
    monkeypatch.setattr("shop.site.page_cache.utcnow", lambda: to)


def test_a_scheduled_article_is_hidden_until_its_time_then_everywhere(
    client, scheduled, monkeypatch
):
    assert client.get("/blog/swing-school").status_code == 404
    for path in PUBLIC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Swing school" not in text_of(response) and "swing-school" not in text_of(
            response
        ), path

    move_clock(monkeypatch, scheduled.published_at + timedelta(minutes=1))
    assert client.get("/blog/swing-school").status_code == 200
    for path in PUBLIC_PAGES:
        assert "swing-school" in text_of(client.get(path)), path
    # Newest first: it leads the list and the feed the moment it is out.
    assert text_of(client.get("/blog/")).index("Swing school") < text_of(
        client.get("/blog/")
    ).index("Due 00")


def test_a_tag_with_only_a_scheduled_article_appears_with_it(client, app, monkeypatch):
    article = make_article(
        "mobility-day",
        status=ArticleStatus.SCHEDULED,
        published_at=utcnow() + timedelta(days=3),
        tags=["mobility-only"],
    )
    assert client.get("/blog/tag/mobility-only").status_code == 404
    assert "/blog/tag/mobility-only" not in text_of(client.get("/sitemap.xml"))
    move_clock(monkeypatch, article.published_at)
    assert client.get("/blog/tag/mobility-only").status_code == 200
    assert "/blog/tag/mobility-only" in text_of(client.get("/sitemap.xml"))


def test_drafts_never_appear_whatever_the_clock(client, app, monkeypatch):
    make_article(
        "draft-with-date", status=ArticleStatus.DRAFT, published_at=utcnow() - timedelta(days=1)
    )
    move_clock(monkeypatch, utcnow() + timedelta(days=365))
    assert client.get("/blog/draft-with-date").status_code == 404
    assert "draft-with-date" not in text_of(client.get("/sitemap.xml"))
