"""A comment that is not posted: the page opens at the form, says what to fix, and keeps the text."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shop.comments.models import Comment
from shop.extensions import db
from tests.builders.content import make_article, make_comment_threads_bulk
from tests.helpers import comment_form, text_of

# The focus script, at its versioned static URL.
SCRIPT = re.compile(r'<script src="/static/js/comment-errors\.js\?v=\w+" defer></script>')


@pytest.fixture
def article(app):
    return make_article("lift-well", title="Lift Well")


def comment_count() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def summary_of(page: str) -> str:
    match = re.search(
        r'<div class="error-summary" id="comment-errors"([^>]*)>(.*?)</div>', page, re.S
    )
    assert match, "no error summary"
    return match.group(1) + match.group(2)


def test_the_form_posts_to_its_own_fragment(client, article):
    page = text_of(client.get("/blog/lift-well"))
    assert (
        'id="comment-form" method="post" action="/blog/lift-well/comments#comment-errors"' in page
    )
    assert 'id="comment-errors"' not in page and not SCRIPT.search(page)


def test_empty_form_lists_every_error_with_a_link_to_its_field(client, article):
    response = client.post(
        "/blog/lift-well/comments",
        data=comment_form(client, "lift-well", comment="", author="", email="", url="x y"),
    )
    assert response.status_code == 400
    page = text_of(response)
    summary = summary_of(page)
    assert 'role="alert" tabindex="-1"' in summary
    assert "Please check these 4 fields:" in summary
    links = re.findall(r'<a href="#(\w+)">([^<]*)</a>', summary)
    assert [target for target, _ in links] == ["comment", "author", "email", "url"]
    assert links[0][1] == "Comment: Please write a comment."
    assert links[1][1] == "Name: Please tell us your name."
    for field in ("comment", "author", "email", "url"):
        tag = re.search(rf'<(?:input|textarea) id="{field}"[^>]*>', page)
        assert tag, field
        assert 'aria-invalid="true"' in tag.group(0)
        assert f'aria-describedby="{field}-error"' in tag.group(0)
        assert f'<p class="field-error" id="{field}-error">' in page
    assert SCRIPT.search(page)
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert comment_count() == 0


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"email": "sam@"}, "email", "Email: Please enter a valid email address."),
        ({"comment": "c" * 65_526}, "comment", "Comment: Please keep it under 65,525 characters."),
    ],
)
def test_one_bad_field_is_named_and_the_rest_is_kept(client, article, typed, field, message):
    fields = {"comment": "My carefully written comment", "author": "Sam <b>Reader</b>"}
    fields.update(typed)
    response = client.post(
        "/blog/lift-well/comments", data=comment_form(client, "lift-well", **fields)
    )
    assert response.status_code == 400
    page = text_of(response)
    summary = summary_of(page)
    assert "Please check this field:" in summary
    assert re.findall(r'<a href="#(\w+)">([^<]*)</a>', summary) == [(field, message)]
    raw = response.get_data(as_text=True)
    assert 'value="Sam &lt;b&gt;Reader&lt;/b&gt;"' in raw, "the name is kept, escaped"
    if field != "comment":
        assert ">My carefully written comment</textarea>" in page
    assert comment_count() == 0


def test_an_expired_session_is_in_the_focused_summary(client, article):
    data = comment_form(client, "lift-well", csrf_token="forged", comment="Keep me")
    response = client.post("/blog/lift-well/comments", data=data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Your session expired. Please post your comment again." in summary_of(page)
    assert ">Keep me</textarea>" in page and SCRIPT.search(page)
    assert comment_count() == 0


def test_the_focus_script_is_served(client):
    response = client.get("/static/js/comment-errors.js", buffered=True)
    assert response.status_code == 200
    assert 'getElementById("comment-errors")' in response.get_data(as_text=True)


def test_links_on_the_failed_page_lead_back_to_the_article(client, article):
    # The failed page is shown at the form's address, which answers only POSTs.
    threads = make_comment_threads_bulk(article, 4 * 51)
    response = client.post(
        "/blog/lift-well/comments", data=comment_form(client, "lift-well", comment="")
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'rel="next" href="/blog/lift-well?page=2#comments"' in page
    assert f'href="/blog/lift-well?replyto={threads[0].id}#respond"' in page
    assert "/comments?" not in page
    assert client.get("/blog/lift-well?page=2").status_code == 200
