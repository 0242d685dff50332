"""Moderating comments through the admin pages: tabs, actions, bulk actions, edit, reply."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from shop.blog.models import Article
from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.builders.content import make_article, make_comment
from tests.conftest import ADMIN_EMAIL
from tests.helpers import csrf_token


def _token(client: FlaskClient) -> str:
    return csrf_token(client, "/admin/comments")


def _post(client: FlaskClient, path: str, **data: object):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": _token(client)})


def _status(comment_id: int) -> CommentStatus | None:
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    return comment.status if comment else None


@pytest.fixture
def article() -> Article:
    return make_article("deadlift-basics", title="Deadlift basics")


# Tabs, counts and what each comment shows


def test_pending_tab_is_the_default_and_every_tab_has_its_count(
    admin_client: FlaskClient, article: Article
) -> None:
    make_comment(article, status=CommentStatus.PENDING, body="Waiting one")
    make_comment(article, status=CommentStatus.PENDING, body="Waiting two")
    make_comment(article, status=CommentStatus.APPROVED, body="Already live")
    make_comment(article, status=CommentStatus.SPAM, body="Cheap pills")

    page = admin_client.get("/admin/comments")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Waiting one" in html and "Waiting two" in html
    assert "Already live" not in html and "Cheap pills" not in html
    assert (
        'aria-current="page">\n            Pending <span class="admin-tab-count">(2)</span>' in html
    )
    assert 'Approved <span class="admin-tab-count">(1)</span>' in html
    assert 'Spam <span class="admin-tab-count">(1)</span>' in html
    assert 'Trash <span class="admin-tab-count">(0)</span>' in html

    spam = admin_client.get("/admin/comments?status=spam").get_data(as_text=True)
    assert "Cheap pills" in spam and "Waiting one" not in spam
    assert "No trash comments." in admin_client.get("/admin/comments?status=trash").get_data(
        as_text=True
    )


def test_unknown_tab_is_not_found(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/comments?status=everything").status_code == 404


def test_comment_shows_article_author_details_text_and_reasons(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(
        article,
        status=CommentStatus.PENDING,
        body="What about <script>alert(1)</script> sumo?",
        name="Priya Lifter",
        email="priya@example.com",
        url="https://priya.example",
        ip_address="198.51.100.23",
    )
    comment.status_reasons = ["Held: contains 3 links (the limit is 2)", "First comment"]
    db.session.commit()

    html = admin_client.get("/admin/comments").get_data(as_text=True)
    assert 'href="/blog/deadlift-basics"' in html
    assert "Deadlift basics" in html
    assert "Priya Lifter" in html
    assert "priya@example.com" in html
    assert 'href="https://priya.example"' in html
    assert "198.51.100.23" in html
    assert f'datetime="{comment.created_at.isoformat()}"' in html
    assert "Held: contains 3 links (the limit is 2)" in html
    assert "First comment" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_a_website_that_is_not_http_is_not_made_a_link(
    admin_client: FlaskClient, article: Article
) -> None:
    make_comment(article, status=CommentStatus.PENDING, url="javascript:alert(1)")
    html = admin_client.get("/admin/comments").get_data(as_text=True)
    assert 'href="javascript:' not in html


def test_pending_badge_is_on_every_admin_page(admin_client: FlaskClient, article: Article) -> None:
    for _ in range(3):
        make_comment(article, status=CommentStatus.PENDING)
    make_comment(article, status=CommentStatus.APPROVED)
    comment_id = db.session.scalar(db.select(Comment.id).limit(1))
    for path in (
        "/admin/",
        "/admin/comments",
        "/admin/comments?status=approved",
        f"/admin/comments/{comment_id}/edit",
        f"/admin/comments/{comment_id}/reply",
    ):
        html = admin_client.get(path).get_data(as_text=True)
        assert 'data-pending-count="3"' in html, path
        assert '3<span class="visually-hidden"> pending)</span>' in html, path


def test_dashboard_shows_the_counts(admin_client: FlaskClient, article: Article) -> None:
    make_comment(article, status=CommentStatus.PENDING)
    make_comment(article, status=CommentStatus.TRASH)
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "Moderate 1 pending comment" in html
    assert 'href="/admin/comments?status=trash"' in html


def test_comments_are_paginated_and_actions_return_to_the_same_page(
    admin_client: FlaskClient, article: Article
) -> None:
    comments = [
        make_comment(article, status=CommentStatus.PENDING, body=f"Comment number {n:02d}.")
        for n in range(51)
    ]
    first = admin_client.get("/admin/comments").get_data(as_text=True)
    second = admin_client.get("/admin/comments?status=pending&page=2").get_data(as_text=True)
    assert first.count('class="admin-comment"') == 50
    assert second.count('class="admin-comment"') == 1
    assert "Comment number 00." in second  # the oldest is on the last page
    assert "Page 2 of 2" in second

    response = _post(
        admin_client,
        f"/admin/comments/{comments[0].id}/moderate?status=pending&page=2",
        action="approve",
    )
    assert response.headers["Location"] == "/admin/comments?status=pending&page=2"
    # That page is now empty: the list shows the last page there is instead of an error.
    emptied = admin_client.get("/admin/comments?status=pending&page=2")
    assert emptied.status_code in (302, 303)
    assert emptied.headers["Location"] == "/admin/comments?status=pending"
    # A page that cannot be is a 404, as on the blog (tests/hostile covers the odd values).
    assert admin_client.get("/admin/comments?page=abc").status_code == 404


# Single actions


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        (CommentStatus.PENDING, "approve", CommentStatus.APPROVED),
        (CommentStatus.APPROVED, "unapprove", CommentStatus.PENDING),
        (CommentStatus.PENDING, "spam", CommentStatus.SPAM),
        (CommentStatus.APPROVED, "trash", CommentStatus.TRASH),
        (CommentStatus.SPAM, "restore", CommentStatus.PENDING),
    ],
)
def test_each_action_changes_the_status_and_says_so(
    admin_client: FlaskClient,
    article: Article,
    before: CommentStatus,
    action: str,
    after: CommentStatus,
) -> None:
    comment = make_comment(article, status=before)
    response = _post(
        admin_client,
        f"/admin/comments/{comment.id}/moderate?status={before.value}",
        action=action,
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == f"/admin/comments?status={before.value}"
    assert _status(comment.id) == after
    db.session.expire_all()
    assert any(
        ADMIN_EMAIL in reason for reason in db.session.get(Comment, comment.id).status_reasons
    )
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 comment" in page


def test_restore_from_trash_puts_the_comment_back_where_it_was(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.APPROVED)
    _post(admin_client, f"/admin/comments/{comment.id}/moderate", action="trash")
    assert _status(comment.id) == CommentStatus.TRASH
    _post(admin_client, f"/admin/comments/{comment.id}/moderate", action="restore")
    assert _status(comment.id) == CommentStatus.APPROVED


def test_delete_permanently_removes_the_comment(
    admin_client: FlaskClient, article: Article
) -> None:
    comment_id = make_comment(article, status=CommentStatus.TRASH, body="Gone for good").id
    trash = admin_client.get("/admin/comments?status=trash").get_data(as_text=True)
    assert "Delete permanently" in trash
    response = _post(
        admin_client, f"/admin/comments/{comment_id}/moderate?status=trash", action="delete"
    )
    assert response.headers["Location"] == "/admin/comments?status=trash"
    assert _status(comment_id) is None
    page = admin_client.get("/admin/comments?status=trash").get_data(as_text=True)
    assert "1 comment deleted permanently." in page


def test_delete_is_not_offered_for_pending_comments(
    admin_client: FlaskClient, article: Article
) -> None:
    make_comment(article, status=CommentStatus.PENDING)
    assert "Delete permanently" not in admin_client.get("/admin/comments").get_data(as_text=True)


def test_unknown_action_is_a_bad_request(admin_client: FlaskClient, article: Article) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    for action in ("publish", ""):
        response = _post(admin_client, f"/admin/comments/{comment.id}/moderate", action=action)
        assert response.status_code == 400
    assert _post(admin_client, f"/admin/comments/{comment.id}/moderate").status_code == 400
    assert _status(comment.id) == CommentStatus.PENDING


def test_unknown_comment_is_not_found(admin_client: FlaskClient) -> None:
    assert _post(admin_client, "/admin/comments/999/moderate", action="approve").status_code == 404
    assert admin_client.get("/admin/comments/999/edit").status_code == 404
    assert _post(admin_client, "/admin/comments/999/edit", body="x").status_code == 404
    assert admin_client.get("/admin/comments/999/reply").status_code == 404
    assert _post(admin_client, "/admin/comments/999/reply", body="x").status_code == 404


# Bulk actions


def test_bulk_action_applies_to_the_ticked_comments_only(
    admin_client: FlaskClient, article: Article
) -> None:
    first, second, untouched = (
        make_comment(article, status=CommentStatus.PENDING) for _ in range(3)
    )
    response = admin_client.post(
        "/admin/comments/bulk?status=pending",
        data={
            "csrf_token": _token(admin_client),
            "action": "spam",
            "ids": [str(first.id), str(second.id)],
        },
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/comments?status=pending"
    assert _status(first.id) == CommentStatus.SPAM
    assert _status(second.id) == CommentStatus.SPAM
    assert _status(untouched.id) == CommentStatus.PENDING
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 comments marked as spam." in page


def test_bulk_delete(admin_client: FlaskClient, article: Article) -> None:
    doomed = [make_comment(article, status=CommentStatus.SPAM).id for _ in range(2)]
    kept = make_comment(article, status=CommentStatus.SPAM).id
    admin_client.post(
        "/admin/comments/bulk?status=spam",
        data={
            "csrf_token": _token(admin_client),
            "action": "delete",
            "ids": [str(comment_id) for comment_id in doomed],
        },
    )
    assert [_status(comment_id) for comment_id in doomed] == [None, None]
    assert _status(kept) == CommentStatus.SPAM


def test_bulk_form_ticks_belong_to_the_bulk_form(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    html = admin_client.get("/admin/comments").get_data(as_text=True)
    assert 'id="bulk-form"' in html
    assert f'name="ids" value="{comment.id}" form="bulk-form"' in html
    assert '<select id="bulk-action" name="action">' in html


def test_empty_bulk_selection_changes_nothing_and_says_so(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    response = _post(admin_client, "/admin/comments/bulk?status=pending", action="approve")
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/comments?status=pending"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Select at least one comment first. Nothing was changed." in page
    assert _status(comment.id) == CommentStatus.PENDING


@pytest.mark.parametrize(
    "data",
    [{"action": "launch", "ids": "{id}"}, {"ids": "{id}"}, {"action": "approve", "ids": "one"}],
)
def test_bad_bulk_input_is_a_bad_request(
    admin_client: FlaskClient, article: Article, data: dict[str, str]
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    filled = {key: value.format(id=comment.id) for key, value in data.items()}
    assert _post(admin_client, "/admin/comments/bulk", **filled).status_code == 400
    assert _status(comment.id) == CommentStatus.PENDING


def test_bulk_with_unknown_ids_changes_nothing(admin_client: FlaskClient, article: Article) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    response = _post(admin_client, "/admin/comments/bulk", action="approve", ids="424242")
    assert response.status_code in (302, 303)
    assert _status(comment.id) == CommentStatus.PENDING


# Editing


def test_edit_page_shows_the_text_and_saving_changes_it(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.APPROVED, body="Teh squat is great")
    page = admin_client.get(f"/admin/comments/{comment.id}/edit?status=approved")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<label for="body">Comment text</label>' in html
    assert "Teh squat is great</textarea>" in html

    response = _post(
        admin_client,
        f"/admin/comments/{comment.id}/edit?status=approved",
        body="  The squat is great  ",
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/comments?status=approved"
    db.session.expire_all()
    edited = db.session.get(Comment, comment.id)
    assert edited.body == "The squat is great"
    assert any("Text edited by" in reason for reason in edited.status_reasons)
    assert "The squat is great" in admin_client.get(f"/blog/{article.slug}").get_data(as_text=True)


def test_empty_edit_is_a_form_error_and_changes_nothing(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING, body="Keep me")
    response = _post(admin_client, f"/admin/comments/{comment.id}/edit", body="   ")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A comment can&#39;t be empty." in html
    assert 'aria-invalid="true"' in html
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "Keep me"


# Approve and reply


def test_approve_and_reply_publishes_both_at_once(
    admin_client: FlaskClient, client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING, body="Is creatine safe?")
    assert "Is creatine safe?" not in client.get(f"/blog/{article.slug}").get_data(as_text=True)

    response = _post(
        admin_client,
        f"/admin/comments/{comment.id}/reply?status=pending",
        body="Yes, at 3-5 g a day for most adults.",
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/comments?status=pending"
    assert _status(comment.id) == CommentStatus.APPROVED
    reply = db.session.scalar(db.select(Comment).where(Comment.parent_id == comment.id))
    assert reply is not None
    assert reply.status == CommentStatus.APPROVED
    assert reply.is_staff_reply
    assert reply.author_name == "MuscleBox team"
    assert reply.author_email == ADMIN_EMAIL

    public = client.get(f"/blog/{article.slug}").get_data(as_text=True)
    assert "Is creatine safe?" in public
    assert "Yes, at 3-5 g a day for most adults." in public
    assert "MuscleBox team" in public
    assert ADMIN_EMAIL not in public


def test_reply_form_is_offered_inline_and_on_its_own_page(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING, name="Sam")
    listing = admin_client.get("/admin/comments").get_data(as_text=True)
    assert f'action="/admin/comments/{comment.id}/reply?status=pending"' in listing
    assert f'<label for="reply-{comment.id}">Your reply to Sam</label>' in listing
    page = admin_client.get(f"/admin/comments/{comment.id}/reply")
    assert page.status_code == 200
    assert "Approve and reply to Sam" in page.get_data(as_text=True)


def test_empty_reply_is_a_form_error_and_approves_nothing(
    admin_client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING)
    response = _post(admin_client, f"/admin/comments/{comment.id}/reply", body="  ")
    assert response.status_code == 400
    assert "Write a reply first." in response.get_data(as_text=True)
    assert _status(comment.id) == CommentStatus.PENDING
    assert db.session.scalar(db.select(db.func.count(Comment.id))) == 1


# The public article


def test_public_article_shows_a_comment_only_after_approval(
    admin_client: FlaskClient, client: FlaskClient, article: Article
) -> None:
    comment = make_comment(article, status=CommentStatus.PENDING, body="Hip hinge tip")
    assert "Hip hinge tip" not in client.get(f"/blog/{article.slug}").get_data(as_text=True)

    _post(admin_client, f"/admin/comments/{comment.id}/moderate", action="approve")
    assert "Hip hinge tip" in client.get(f"/blog/{article.slug}").get_data(as_text=True)

    _post(admin_client, f"/admin/comments/{comment.id}/moderate", action="unapprove")
    assert "Hip hinge tip" not in client.get(f"/blog/{article.slug}").get_data(as_text=True)


def test_commenter_email_is_shown_in_admin_but_never_publicly(
    admin_client: FlaskClient, client: FlaskClient, article: Article
) -> None:
    make_comment(article, status=CommentStatus.APPROVED, email="private@example.com")
    assert "private@example.com" in admin_client.get("/admin/comments?status=approved").get_data(
        as_text=True
    )
    assert "private@example.com" not in client.get(f"/blog/{article.slug}").get_data(as_text=True)
