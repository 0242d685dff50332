"""Odd input anywhere gets a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from shop.comments.models import CommentStatus
from tests.builders.content import make_article, make_comment
from tests.helpers import comment_form, csrf_token, post_comment, text_of

HUGE = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        f"/blog/?page={HUGE}",
        "/blog/?page=-1",
        "/blog/?page=0",
        "/blog/?page=²",
        f"/blog/tag/strength?page={HUGE}",
        f"/blog/lift?page={HUGE}",
    ],
)
def test_impossible_pages_are_404(app, client, path):
    make_article("lift", tags=["strength"])
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("value", [HUGE, "-3", "²", "abc", ""])
def test_odd_reply_targets_just_show_the_plain_form(app, client, value):
    make_article("lift")
    response = client.get(f"/blog/lift?replyto={value}")
    assert response.status_code == 200
    assert 'name="parent_id" type="hidden" value=""' in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [HUGE, "²", "1.5", "-1", "0x10"])
def test_odd_parent_ids_are_a_form_error(app, client, value):
    make_article("lift")
    response = post_comment(client, "lift", parent_id=value)
    assert response.status_code == 400
    assert "isn't available" in text_of(response)


def test_nul_characters_are_refused_everywhere(app, client):
    make_article("lift")
    assert client.get("/blog/li%00ft").status_code == 400
    assert client.get("/blog/?q=%00").status_code == 400
    response = post_comment(client, "lift", author="Sam\x00", comment="hi\x00there")
    assert response.status_code == 400


def test_bulk_action_with_impossible_ids_is_400(admin_client):
    token = csrf_token(admin_client, "/admin/comments")
    response = admin_client.post(
        "/admin/comments/bulk", data={"ids": [HUGE], "action": "approve", "csrf_token": token}
    )
    assert response.status_code == 400


def test_the_heading_counts_replies_too(app, client):
    article = make_article("lift", title="Lift")
    parent = make_comment(article)
    make_comment(article, parent=parent)
    make_comment(article, parent=parent)
    assert "3 responses to “Lift”" in client.get("/blog/lift").get_data(as_text=True)


def test_form_field_arrays_do_not_crash(app, client):
    make_article("lift")
    data = comment_form(client, "lift")
    response = client.post(
        "/blog/lift/comments",
        data={**data, "author": ["one", "two"], "email": ["a@example.com", "b@example.com"]},
    )
    assert response.status_code in (303, 400)


def test_approved_reply_never_hides_under_an_unapproved_parent(app, admin_client):
    article = make_article("lift")
    parent = make_comment(article, status=CommentStatus.PENDING, body="parent text")
    reply = make_comment(article, status=CommentStatus.PENDING, parent=parent, body="reply text")
    token = csrf_token(admin_client, "/admin/comments")
    response = admin_client.post(
        f"/admin/comments/{reply.id}/moderate",
        data={"action": "approve", "csrf_token": token},
        follow_redirects=True,
    )
    assert "approve the comment it answers first" in response.get_data(as_text=True)
    from shop.comments.models import Comment
    from shop.extensions import db

    assert db.session.get(Comment, reply.id).status is CommentStatus.PENDING
    # Both in one bulk action: the parent first, then its reply.
    admin_client.post(
        "/admin/comments/bulk",
        data={"ids": [str(reply.id), str(parent.id)], "action": "approve", "csrf_token": token},
    )
    page = app.test_client().get("/blog/lift").get_data(as_text=True)
    assert "parent text" in page and "reply text" in page
    # Taking the parent down holds its reply too, with the reason.
    admin_client.post(
        f"/admin/comments/{parent.id}/moderate", data={"action": "trash", "csrf_token": token}
    )
    held = db.session.get(Comment, reply.id)
    assert held.status is CommentStatus.PENDING
    assert "taken down" in held.status_reasons[-1]


def test_deleting_for_good_only_from_spam_or_trash(app, admin_client):
    from shop.comments.models import Comment
    from shop.extensions import db

    article = make_article("lift")
    live = make_comment(article)
    token = csrf_token(admin_client, "/admin/comments")
    response = admin_client.post(
        f"/admin/comments/{live.id}/moderate", data={"action": "delete", "csrf_token": token}
    )
    assert response.status_code == 400
    assert db.session.get(Comment, live.id) is not None
