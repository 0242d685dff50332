"""Every public page runs a fixed number of SQL statements, whatever the size of the shop.

Each page is asked for once on a small shop (3 boxes, 5 articles, 5 comments) and once on a large
one (50 boxes, 600 articles, 500 comments), and must run the same, stated number of statements
on both: a lazy load per row (an article's author or tags, a box's plans, a comment's replies)
would make the large shop's count grow with its rows, and so would a relation loaded in batches
(selectinload takes 500 ids a statement: hence 600 articles, not 500). Every article has an
author of its own (a shared author would be loaded once and hide a per-article load), two tags
and a hero image; the comments come in threads with replies two levels deep.

The article page is read by a visitor with two comments of their own held for moderation (a
reply on the first page, a top-level comment on the last), which it shows them: a page made for
them alone. Every other page is read by a new visitor, with nothing of their own, as the first
reader since the data changed: the page is rendered for the shared page cache
(shop.site.page_cache), which serves the next readers without a statement; pages whose article
lists change by themselves also ask when the next scheduled article goes live, to know how long
the cached copy lasts ("the next publication" below). The blog lists ten articles a page, so its
page 2 is read on 15 articles instead of 5 (five make no page 2). The comment settings row
(shop.comments.settings), read once per request, is one of the article page's statements.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.builders.content import make_articles_bulk, make_boxes_bulk, make_comment_threads_bulk
from tests.helpers import post_comment, statements_of_get

ARTICLES_PER_PAGE = 10  # shop.blog.views.ARTICLES_PER_PAGE
COMMENTS_PER_PAGE = 50  # the default of shop.comments.settings
THREAD = 4  # comments per thread (make_comment_threads_bulk)

SIZES = {
    # size: (boxes, articles, comments)
    "small": (3, 5, 5),
    "large": (50, 600, 500),
}


@dataclass
class Shop:
    box_slug: str
    article_slug: str
    tag_slug: str
    last_comment_page: int


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return request.param


def build_shop(client: FlaskClient, size: str, *, articles: int | None = None) -> Shop:
    """A shop of `size`. The newest article carries the comments, and `client` has posted two
    comments there that are held: a reply to the first comment, and a top-level comment."""
    boxes, default_articles, comments = SIZES[size]
    made_boxes = make_boxes_bulk(boxes)
    article = make_articles_bulk(articles or default_articles)[0]
    threads = make_comment_threads_bulk(article, comments)
    for fields in (
        {"comment": "My own reply, waiting for a moderator.", "parent_id": str(threads[0].id)},
        {"comment": "My own comment, waiting for a moderator."},
    ):
        assert post_comment(client, article.slug, **fields).status_code in (302, 303)
    held = db.session.scalars(
        db.select(Comment).where(Comment.status == CommentStatus.PENDING)
    ).all()
    assert len(held) == 2, "the visitor's comments should be held, not approved"
    return Shop(
        box_slug=made_boxes[-1].slug,
        article_slug=article.slug,
        tag_slug="strength",  # every bulk article's first tag
        last_comment_page=-(-len(threads) // COMMENTS_PER_PAGE),
    )


def assert_statements(client: FlaskClient, path: str, expected: int) -> str:
    """GET `path` and check it ran `expected` statements (listed when it did not); the page's
    text, for checking the page shows what was counted."""
    statements = statements_of_get(client, path)
    assert len(statements) == expected, "\n\n".join(statements)
    return client.get(path).get_data(as_text=True)


def test_home_page(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size)
    # The boxes; the three newest articles with their authors; their tags; the next publication.
    page = assert_statements(app.test_client(), "/", 4)
    assert "Bulk article 2" in page and "By Bulk Author 2" in page


def test_boxes_index(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size)
    # The boxes; their plans (for each box's from-price), whatever their number.
    page = assert_statements(app.test_client(), "/boxes/", 2)
    assert f"Bulk Box {SIZES[size][0] - 1}" in page


def test_box_page(app: Flask, client: FlaskClient, size: str) -> None:
    shop = build_shop(client, size)
    # The box; its plans.
    page = assert_statements(app.test_client(), f"/boxes/{shop.box_slug}", 2)
    assert "Every 12 months" in page


def test_blog_index(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size)
    # A page of articles with their authors; their tags; how many articles there are; the next
    # publication.
    page = assert_statements(app.test_client(), "/blog/", 4)
    assert f"By Bulk Author {min(ARTICLES_PER_PAGE, SIZES[size][1]) - 1}<" in page


def test_blog_index_page_two(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size, articles=ARTICLES_PER_PAGE + 5 if size == "small" else None)
    # As page 1.
    page = assert_statements(app.test_client(), "/blog/?page=2", 4)
    assert "By Bulk Author 10" in page


def test_tag_page(app: Flask, client: FlaskClient, size: str) -> None:
    shop = build_shop(client, size)
    # The tag, then as the blog index.
    page = assert_statements(app.test_client(), f"/blog/tag/{shop.tag_slug}", 5)
    assert "By Bulk Author 4" in page


def test_article_first_comment_page(app: Flask, client: FlaskClient, size: str) -> None:
    shop = build_shop(client, size)
    # The article with its author; its tags; the comment settings; a page of top-level comments;
    # how many there are; their replies; the visitor's own held comments; the boxes; how many
    # comments are approved.
    page = assert_statements(client, f"/blog/{shop.article_slug}", 9)
    assert "Bulk comment 2." in page  # a reply to a reply
    assert "My own reply, waiting for a moderator." in page


def test_article_last_comment_page(app: Flask, client: FlaskClient, size: str) -> None:
    shop = build_shop(client, size)
    last = shop.last_comment_page
    # As the first page.
    page = assert_statements(client, f"/blog/{shop.article_slug}?page={last}", 9)
    first_on_page = (last - 1) * COMMENTS_PER_PAGE * THREAD
    assert f"Bulk comment {first_on_page + 2}." in page  # a reply to a reply
    assert "My own comment, waiting for a moderator." in page


def test_feed(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size)
    # The 20 newest articles with their authors; their tags; the next publication.
    page = assert_statements(app.test_client(), "/feed.xml", 3)
    assert page.count("<entry>") == min(20, SIZES[size][1])
    assert page.count("<category ") == 2 * min(20, SIZES[size][1])


def test_sitemap(app: Flask, client: FlaskClient, size: str) -> None:
    build_shop(client, size)
    # Every article's address and last change; the tags in use; the boxes; the next publication.
    page = assert_statements(app.test_client(), "/sitemap.xml", 4)
    assert page.count("/blog/bulk-") == SIZES[size][1]
    assert page.count("/blog/tag/") == 3
    assert page.count("/boxes/bulk-box-") == SIZES[size][0]
