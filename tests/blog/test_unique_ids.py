"""Every id on a public page is unique, so each label, skip link and fragment finds its element."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from shop.db import utcnow
from tests.builders.content import (
    make_article,
    make_author,
    make_comment,
    make_comment_threads_bulk,
)
from tests.helpers import comment_form


class _Ids(HTMLParser):
    """The ids of a page, what its labels point at, and each tick box with how it is labelled."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_targets: list[str] = []
        self.shown_label_targets: set[str] = set()
        self.ticks: list[tuple[str, bool]] = []  # (id or name, inside a shown label)
        self._open_label: str | None = None  # the class of the <label> being read, if any

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if values.get("id"):
            self.ids[values["id"]] += 1
        if tag == "label":
            self._open_label = values.get("class", "")
            if values.get("for"):
                self.label_targets.append(values["for"])
                if "visually-hidden" not in values.get("class", "").split():
                    self.shown_label_targets.add(values["for"])
        if tag == "input" and values.get("type") in ("checkbox", "radio"):
            wrapped = self._open_label is not None and "visually-hidden" not in self._open_label
            self.ticks.append((values.get("id") or values.get("name", ""), wrapped))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_label = None


def parsed(page: str) -> _Ids:
    parser = _Ids()
    parser.feed(page)
    return parser


def duplicate_ids(page: str) -> list[str]:
    return sorted(name for name, count in parsed(page).ids.items() if count > 1)


def ticks_without_a_shown_label(page: str) -> list[str]:
    """Check boxes and radios whose only label is hidden: their 22 px box is all there is to tap."""
    found = parsed(page)
    return [
        name
        for name, wrapped in found.ticks
        if not wrapped and name not in found.shown_label_targets
    ]


@pytest.fixture
def article(app):
    author = make_author("Coach Kim")
    article = make_article("lift-well", title="Lift Well", author=author, tags=["strength"])
    first = make_comment(article, name="Ann", created_at=utcnow() - timedelta(hours=2))
    make_comment(article, name="Ben", parent=first)
    return article


def test_article_page_ids_are_unique_and_every_label_finds_its_field(client, article):
    page = client.get("/blog/lift-well").get_data(as_text=True)
    assert duplicate_ids(page) == []
    ids = parsed(page)
    assert all(ids.ids[target] == 1 for target in ids.label_targets), ids.label_targets
    # The byline's link leads to the author box, which no longer shares the name field's id.
    assert 'href="#about-the-author"' in page and 'id="about-the-author"' in page
    assert '<input id="author" name="author"' in page


def test_article_page_with_form_errors_and_a_reply_has_unique_ids(client, article):
    replied_to = make_comment(article, name="Cat")
    data = comment_form(client, "lift-well", comment="", author="", email="not-an-email")
    data["parent_id"] = str(replied_to.id)
    response = client.post("/blog/lift-well/comments", data=data)
    assert response.status_code == 400
    assert duplicate_ids(response.get_data(as_text=True)) == []


def test_article_page_with_comment_pages_has_unique_ids(client, article):
    make_comment_threads_bulk(article, 4 * 51)
    for path in ("/blog/lift-well", "/blog/lift-well?page=2", "/blog/lift-well?replyto=1"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert duplicate_ids(response.get_data(as_text=True)) == [], path


def test_blog_index_and_tag_pages_have_unique_ids(client, article):
    for n in range(12):
        make_article(f"post-{n:02d}", title=f"Post {n:02d}", tags=["strength"])
    for path in ("/blog/", "/blog/?page=2", "/blog/tag/strength"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert duplicate_ids(response.get_data(as_text=True)) == [], path


def test_the_finders_find_a_duplicate_and_a_tick_box_without_a_shown_label():
    assert duplicate_ids('<p id="a"></p><div id="b"><span id="a"></span></div>') == ["a"]
    page = (
        '<input type="checkbox" id="one"><label for="one" class="visually-hidden">One</label>'
        '<input type="checkbox" id="two"><label for="two">Two</label>'
        '<label><input type="radio" name="three"> Three</label>'
    )
    assert ticks_without_a_shown_label(page) == ["one"]
