"""Authors through HTTP: the list with their article counts, adding and editing (social links
from handles or addresses), and deleting, which is refused while any article is theirs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.blog.models import ArticleStatus, Author
from shop.extensions import db
from tests.admin.test_articles import field_error
from tests.builders.content import make_article, make_author
from tests.helpers import csrf_token, text_of, visible_text


def author_form(client, path: str = "/admin/authors/new", **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf_token(client, path),
        "name": "Dr Maya Chen",
        "slug": "",
        "credentials": "Sports Physician",
        "bio": "Maya treats lifters.",
        "website": "https://maya.example.com",
        "instagram": "@maya.lifts",
        "facebook": "",
        "youtube": "",
        "tiktok": "",
        "x": "",
    }
    data.update(fields)
    return data


def authors() -> int:
    return db.session.scalar(select(func.count(Author.id))) or 0


def test_the_list_shows_every_author_with_their_articles(admin_client, app):
    kim = make_author("Coach Kim")
    lee = make_author("Lee Strong")
    for n in range(3):
        make_article(f"kim-{n}", author=kim)
    make_article("kim-draft", author=kim, status=ArticleStatus.DRAFT)
    for n in range(55):
        make_author(f"Visiting {n:02d}")
    page = text_of(admin_client.get("/admin/authors"))
    row = re.search(rf'id="author-{kim.id}".*?</tr>', page, re.S).group(0)
    assert 'data-label="Articles">4<' in row and "Delete" not in row
    assert "Delete" in re.search(rf'id="author-{lee.id}".*?</tr>', page, re.S).group(0)
    assert len(re.findall(r'id="author-\d+"', page)) == 50
    second = text_of(admin_client.get("/admin/authors?page=2"))
    assert len(re.findall(r'id="author-\d+"', second)) == 7
    assert admin_client.get("/admin/authors?page=3").status_code == 404
    assert admin_client.get("/admin/authors?page=x").status_code == 404


def test_adding_an_author_turns_handles_into_links_and_audits_it(admin_client, app, client):
    response = admin_client.post("/admin/authors/new", data=author_form(admin_client))
    assert response.status_code == 303
    author = db.session.scalar(select(Author))
    assert author.slug == "dr-maya-chen"
    assert author.social_links == {
        "website": "https://maya.example.com",
        "instagram": "https://www.instagram.com/maya.lifts",
    }
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.subject) == ("author.create", f"author:{author.id}")
    assert entry.summary == f"Author #{author.id} (dr-maya-chen) added"

    make_article("maya-article", author=author)
    page = client.get("/blog/maya-article").get_data(as_text=True)
    assert 'href="https://www.instagram.com/maya.lifts"' in page and "Sports Physician" in page


def test_editing_an_author_changes_the_public_author_box(admin_client, app, client):
    author = make_author("Coach Kim")
    make_article("kims", author=author)
    path = f"/admin/authors/{author.id}/edit"
    assert 'value="Coach Kim"' in admin_client.get(path).get_data(as_text=True)
    response = admin_client.post(
        path, data=author_form(admin_client, path, name="Coach Kim Park", slug="kim", instagram="")
    )
    assert response.status_code == 303
    db.session.refresh(author)
    assert (author.name, author.slug) == ("Coach Kim Park", "kim")
    assert "instagram" not in author.social_links
    assert "Coach Kim Park" in visible_text(client.get("/blog/kims"))
    assert db.session.scalars(select(AuditEntry.action)).all() == ["author.update"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "needs a name"),
        ({"name": "N" * 121}, "name", "at most 120"),
        ({"name": "Maya \u202enehC"}, "name", "text-direction"),
        ({"slug": "Bad Slug"}, "slug", "lowercase letters"),
        ({"credentials": "c" * 201}, "credentials", "At most 200"),
        ({"bio": "b" * 5001}, "bio", "at most 5,000"),
        ({"website": "maya.example.com"}, "website", "starting with https://"),
        ({"website": "javascript:alert(1)"}, "website", "starting with https://"),
        ({"instagram": "not a handle!"}, "instagram", "handle like @name"),
        ({"youtube": "https://"}, "youtube", "web address like"),
    ],
)
def test_bad_author_input_is_an_error_at_its_field(admin_client, app, fields, field, message):
    response = admin_client.post("/admin/authors/new", data=author_form(admin_client, **fields))
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert authors() == 0


def test_after_a_failed_post_the_first_field_to_fix_has_the_focus(admin_client, app):
    data = author_form(admin_client, name="", website="maya.example.com")
    page = admin_client.post("/admin/authors/new", data=data).get_data(as_text=True)
    focused = re.findall(r"<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*>", page)
    assert len(focused) == 1, focused
    assert 'id="name"' in focused[0]


def test_a_duplicate_author_slug_is_a_form_error(admin_client, app):
    make_author("Someone").slug = "dr-maya-chen"
    db.session.commit()
    response = admin_client.post("/admin/authors/new", data=author_form(admin_client))
    assert response.status_code == 400
    assert "Another author already uses" in field_error(response, "slug")
    assert authors() == 1


def test_an_author_with_articles_cannot_be_deleted(admin_client, app):
    author = make_author("Coach Kim")
    make_article("only-a-draft", author=author, status=ArticleStatus.DRAFT)
    path = f"/admin/authors/{author.id}/delete"
    page = visible_text(admin_client.get(path))
    assert "can't be deleted yet" in page and "1 article is theirs" in page
    response = admin_client.post(
        path, data={"csrf_token": csrf_token(admin_client, "/admin/authors"), "confirm": "delete"}
    )
    assert response.status_code == 303
    assert "still has 1 article" in text_of(admin_client.get(response.headers["Location"]))
    assert authors() == 1 and db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_an_author_without_articles_is_deleted_after_confirming(admin_client, app):
    author = make_author("Coach Kim")
    author_id = author.id
    path = f"/admin/authors/{author_id}/delete"
    token = csrf_token(admin_client, path)
    assert admin_client.post(path, data={"csrf_token": token}).status_code == 400
    assert admin_client.post(path, data={"confirm": "delete"}).status_code == 400
    assert authors() == 1
    response = admin_client.post(path, data={"csrf_token": token, "confirm": "delete"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/authors"
    assert authors() == 0
    assert db.session.scalars(select(AuditEntry.subject)).all() == [f"author:{author_id}"]


def test_unknown_authors_are_404(admin_client, app):
    token = csrf_token(admin_client, "/admin/authors/new")
    for path in (
        "/admin/authors/404/edit",
        "/admin/authors/404/delete",
        f"/admin/authors/{2**40}/edit",
    ):
        assert admin_client.get(path).status_code == 404, path
        assert (
            admin_client.post(path, data={"csrf_token": token, "confirm": "delete"}).status_code
            == 404
        )
