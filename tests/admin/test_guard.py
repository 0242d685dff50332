"""Every admin URL is closed to anonymous visitors, and admin pages are never cached or indexed."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.builders.content import make_article, make_comment
from tests.helpers import csrf_token

EXPECTED_ENDPOINTS = {
    "admin.dashboard",
    "admin.comments",
    "admin.moderate_one",
    "admin.moderate_bulk",
    "admin.edit_comment",
    "admin.reply",
    "admin.logout",
    "admin.shipments",
    "admin.shipments_csv",
    "admin.run_shipping_month",
    "admin.mark_shipments_bulk",
    "admin.decide_held",
    "admin.events",
    "admin.event_detail",
    "admin.process_event",
    "admin.run_reconcile",
    "admin.emails",
    "admin.send_email_again",
    "admin.subscriptions",
    "admin.subscription",
    "admin.customers",
    "admin.customer",
    "admin.promotions",
    "admin.new_promotion",
    "admin.deactivate_promotion_code",
    "admin.articles",
    "admin.new_article",
    "admin.edit_article",
    "admin.preview_new_article",
    "admin.preview_article",
    "admin.delete_article_page",
    "admin.authors",
    "admin.new_author",
    "admin.edit_author",
    "admin.delete_author_page",
    "admin.comment_settings",
    "admin.privacy",
    "admin.privacy_export",
    "admin.privacy_erase",
    "admin.audit",
}

_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _admin_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.login"
    ]


def _dummy_url(app: Flask, rule: Rule) -> str:
    """The rule's URL with dummy arguments: 1 for numbers, "x" for anything else."""
    values: dict[str, object] = {
        name: 1 if converter in ("int", "float") else "x"
        for converter, name in _ARGUMENT.findall(rule.rule)
    }
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_admin_route_redirects_anonymous_visitors_to_login(
    app: Flask, client: FlaskClient
) -> None:
    make_comment(make_article(), status=CommentStatus.PENDING)  # so id 1 exists
    rules = _admin_rules(app)
    # Every admin route is named here, so a new one is a decision, not an accident.
    assert {rule.endpoint for rule in rules} == EXPECTED_ENDPOINTS
    # A real anonymous browser has a CSRF token from the login page, so the guard itself
    # (not the CSRF check) is what turns the POSTs away.
    token = csrf_token(client, "/admin/login")
    checked = 0
    for rule in rules:
        url = _dummy_url(app, rule)
        for method in sorted(rule.methods or ()):
            data = {"csrf_token": token, "action": "approve", "ids": "1", "body": "x"}
            response = client.open(url, method=method, data=data)
            where = f"{method} {url}"
            assert response.status_code in (302, 303), where
            assert response.headers["Location"].startswith("/admin/login"), where
            checked += 1
    assert checked >= len(EXPECTED_ENDPOINTS)
    assert db.session.get(Comment, 1).status == CommentStatus.PENDING


def test_redirect_to_login_remembers_the_page(client: FlaskClient) -> None:
    response = client.get("/admin/comments?status=trash&page=2")
    assert (
        response.headers["Location"]
        == "/admin/login?next=/admin/comments?status%3Dtrash%26page%3D2"
    )


@pytest.mark.parametrize("path", ["/admin/", "/admin/comments", "/admin/login"])
def test_anonymous_responses_are_private(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_admin_pages_are_not_cacheable_or_indexable(admin_client: FlaskClient) -> None:
    comment = make_comment(make_article(), status=CommentStatus.PENDING)
    for path in (
        "/admin/",
        "/admin/comments",
        "/admin/comments?status=spam",
        f"/admin/comments/{comment.id}/edit",
        f"/admin/comments/{comment.id}/reply",
        "/admin/comments/999999/edit",
    ):
        response = admin_client.get(path)
        assert response.status_code in (200, 404), path
        assert response.headers["Cache-Control"] == "no-store", path
        assert "noindex" in response.headers["X-Robots-Tag"], path
    page = admin_client.get("/admin/comments").get_data(as_text=True)
    assert '<meta name="robots" content="noindex, nofollow">' in page


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/comments/{id}/moderate", {"action": "approve"}),
        ("/admin/comments/bulk", {"action": "approve", "ids": "{id}"}),
        ("/admin/comments/{id}/edit", {"body": "Changed by a forger"}),
        ("/admin/comments/{id}/reply", {"body": "Forged reply"}),
    ],
)
def test_admin_actions_without_csrf_token_are_refused(
    admin_client: FlaskClient, path: str, data: dict[str, str]
) -> None:
    comment = make_comment(make_article(), status=CommentStatus.PENDING, body="Original")
    filled = {key: value.format(id=comment.id) for key, value in data.items()}
    response = admin_client.post(path.format(id=comment.id), data=filled)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == CommentStatus.PENDING
    assert db.session.get(Comment, comment.id).body == "Original"
    assert db.session.scalar(db.select(db.func.count(Comment.id))) == 1


def test_admin_action_with_a_forged_token_is_refused(admin_client: FlaskClient) -> None:
    comment = make_comment(make_article(), status=CommentStatus.PENDING)
    response = admin_client.post(
        f"/admin/comments/{comment.id}/moderate",
        data={"action": "approve", "csrf_token": "forged"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == CommentStatus.PENDING
