"""The page links say where they lead: older or newer, or just previous and next."""

from __future__ import annotations

import re
from datetime import timedelta

from shop.db import utcnow
from tests.builders.content import make_article, make_author, make_comment_threads_bulk
from tests.helpers import text_of


def page_links(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """rel -> label of the pagination links."""
    nav = re.search(r'<nav class="pagination"[^>]*>(.*?)</nav>', text_of(response), re.S)
    assert nav, "no pagination"
    return dict(re.findall(r'<a rel="(prev|next)" href="[^"]*">([^<]*)</a>', nav.group(1)))


def test_comment_pages_run_oldest_first_so_the_next_page_is_newer(client, app):
    article = make_article("lift-well", title="Lift Well")
    make_comment_threads_bulk(article, 4 * 51)  # 51 threads: 50 on page 1, the newest on page 2
    first = client.get("/blog/lift-well")
    assert page_links(first) == {"next": "Newer →"}
    assert "Bulk comment 0." in text_of(first) and "Bulk comment 200." not in text_of(first)
    second = client.get("/blog/lift-well?page=2")
    assert page_links(second) == {"prev": "← Older"}
    assert "Bulk comment 200." in text_of(second)


def test_blog_pages_run_newest_first_so_the_next_page_is_older(client, app):
    now = utcnow()
    for n in range(12):
        make_article(f"post-{n:02d}", title=f"Post {n:02d}", published_at=now - timedelta(days=n))
    assert page_links(client.get("/blog/")) == {"next": "Older →"}
    assert page_links(client.get("/blog/?page=2")) == {"prev": "← Newer"}


def test_authors_run_by_name_so_the_links_are_previous_and_next(admin_client):
    for n in range(51):
        make_author(f"Author {n:02d}")
    assert page_links(admin_client.get("/admin/authors")) == {"next": "Next →"}
    assert page_links(admin_client.get("/admin/authors?page=2")) == {"prev": "← Previous"}
