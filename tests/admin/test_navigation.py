"""The admin bar: every section one tap away (the rest under "More"), the current one marked,
and every admin page without arguments opening for a signed-in admin."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.admin.navigation import DAILY, MORE
from shop.billing.models import EventOutcome
from shop.comments.models import CommentStatus
from shop.stripe_emulator.testing import RunningEmulator
from tests.admin.test_jobs import make_event
from tests.blog.test_unique_ids import duplicate_ids, ticks_without_a_shown_label
from tests.builders.content import make_article, make_comment
from tests.helpers import shop_on_emulator


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    """Stripe on the emulator: the promotions page lists codes from it."""
    return shop_on_emulator(stripe_emulator, webhook=False)


def current_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', html)


def test_every_section_is_in_the_bar_and_opens(app: Flask, admin_client: FlaskClient) -> None:
    html = admin_client.get("/admin/").get_data(as_text=True)
    with app.test_request_context():
        from flask import url_for

        urls = [url_for(section.endpoint) for section in (*DAILY, *MORE)]
    for url in urls:
        assert f'href="{url}"' in html, url
        assert admin_client.get(url).status_code == 200, url
    more = html.index('class="admin-more"')
    for section in MORE:  # the less daily pages sit under "More"
        assert html.index(section.label, more) > more


def test_every_admin_page_without_arguments_opens(app: Flask, admin_client: FlaskClient) -> None:
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "GET" in (rule.methods or ())
        and not rule.arguments
        and rule.endpoint not in ("admin.login", "admin.shipments_csv")  # a download
    ]
    assert len(rules) >= 15
    for rule in rules:
        response = admin_client.get(rule.rule)
        assert response.status_code == 200, rule.rule


def test_the_current_section_is_marked(admin_client: FlaskClient) -> None:
    article = make_article()
    comment = make_comment(article, status=CommentStatus.PENDING)
    assert current_links(admin_client.get("/admin/articles/new").get_data(as_text=True)) == [
        "/admin/articles"
    ]
    assert current_links(
        admin_client.get(f"/admin/comments/{comment.id}/edit").get_data(as_text=True)
    ) == ["/admin/comments"]
    audit = admin_client.get("/admin/audit").get_data(as_text=True)
    assert current_links(audit) == ["/admin/audit"]
    assert 'class="admin-more-current"' in audit  # "More" shows where the page is
    assert 'class="admin-more-current"' not in admin_client.get("/admin/").get_data(as_text=True)


def test_failed_work_shows_on_more_and_on_its_section(admin_client: FlaskClient) -> None:
    make_event(EventOutcome.FAILED, error="boom")
    html = admin_client.get("/admin/").get_data(as_text=True)
    summary = html[html.index("<summary>More") : html.index("</summary>")]
    assert '1<span class="visually-hidden"> failed)</span>' in summary
    assert 'data-failed-count="1"' in html


def test_admin_pages_have_unique_ids_and_tick_boxes_with_a_label_to_tap(
    app: Flask, admin_client: FlaskClient
) -> None:
    """A tick box is 22 px: its shown label (around it, or beside it) is the 44 px target."""
    article = make_article()
    comment = make_comment(article, status=CommentStatus.PENDING)
    paths = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "GET" in (rule.methods or ())
        and not rule.arguments
        and rule.endpoint != "admin.shipments_csv"
    ]
    paths += [f"/admin/comments/{comment.id}/edit", f"/admin/articles/{article.id}/edit"]
    ticks_seen = 0
    for path in paths:
        html = admin_client.get(path).get_data(as_text=True)
        assert duplicate_ids(html) == [], path
        assert ticks_without_a_shown_label(html) == [], path
        ticks_seen += html.count('type="checkbox"') + html.count('type="radio"')
    assert 'class="admin-comment-tick"' in admin_client.get("/admin/comments").get_data(True)
    assert ticks_seen >= 4
