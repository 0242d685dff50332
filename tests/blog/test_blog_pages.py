"""The blog's public pages: list, tags, article, feed and sitemap."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from shop.blog.models import ArticleStatus
from shop.db import utcnow
from tests.builders.content import make_article, make_author, make_box
from tests.helpers import text_of, visible_text

ATOM = "{http://www.w3.org/2005/Atom}"


def test_blog_lists_published_articles_newest_first_ten_a_page(client, app):
    now = utcnow()
    author = make_author("Coach Kim")
    for n in range(12):
        make_article(
            f"post-{n:02d}",
            title=f"Post {n:02d}",
            published_at=now - timedelta(days=n),
            author=author,
        )
    page1 = text_of(client.get("/blog/"))
    titles = re.findall(r">Post (\d\d)</a>", page1)
    assert titles == [f"{n:02d}" for n in range(10)]
    assert "By Coach Kim" in page1 and "min read" in page1 and "Excerpt of article" in page1
    page2 = text_of(client.get("/blog/?page=2"))
    assert re.findall(r">Post (\d\d)</a>", page2) == ["10", "11"]
    assert client.get("/blog/?page=3").status_code == 404
    assert client.get("/blog/?page=abc").status_code in (200, 404)


def test_drafts_and_scheduled_articles_are_hidden(client, app):
    make_article("draft-one", title="Draft One", status=ArticleStatus.DRAFT)
    make_article(
        "future-one",
        title="Future One",
        status=ArticleStatus.SCHEDULED,
        published_at=utcnow() + timedelta(days=2),
    )
    make_article(
        "due-one",
        title="Due One",
        status=ArticleStatus.SCHEDULED,
        published_at=utcnow() - timedelta(minutes=1),
    )
    listing = text_of(client.get("/blog/"))
    assert "Draft One" not in listing and "Future One" not in listing
    assert "Due One" in listing, "a scheduled article appears once its time has come"
    assert client.get("/blog/draft-one").status_code == 404
    assert client.get("/blog/future-one").status_code == 404
    assert client.get("/blog/no-such-article").status_code == 404
    assert client.get("/blog/due-one").status_code == 200
    for url in ("/feed.xml", "/sitemap.xml"):
        body = client.get(url).get_data(as_text=True)
        assert "draft-one" not in body and "future-one" not in body


def test_tag_page_filters_articles(client, app):
    make_article("squats", title="Squats", tags=["strength"])
    make_article("salads", title="Salads", tags=["nutrition"])
    page = text_of(client.get("/blog/tag/strength"))
    assert "Squats" in page and "Salads" not in page
    assert client.get("/blog/tag/no-such-tag").status_code == 404


def test_tag_with_only_hidden_articles_is_404(client, app):
    make_article("hidden", tags=["secret"], status=ArticleStatus.DRAFT)
    assert client.get("/blog/tag/secret").status_code == 404


def test_article_page_has_author_box_tags_reading_time_and_boxes(client, app):
    for position, (slug, name) in enumerate(
        [
            ("musclebox", "MuscleBox"),
            ("miss-musclebox", "Miss MuscleBox"),
            ("protein-musclebox", "Protein MuscleBox"),
        ]
    ):
        make_box(slug, name, position)
    author = make_author("Rachel", "Accredited Exercise Physiologist")
    make_article(
        "deadlifts", title="Deadlift Basics", author=author, tags=["strength"], body="word " * 450
    )
    response = client.get("/blog/deadlifts")
    assert response.status_code == 200
    page = text_of(response)
    text = visible_text(response)
    assert "<h1" in page and "Deadlift Basics" in page
    assert "About the author" in text and "Accredited Exercise Physiologist" in text
    assert 'href="/blog/tag/strength"' in page
    assert "1 min read" in text  # builders store 1; reading time itself is tested with imports
    for slug in ("musclebox", "miss-musclebox", "protein-musclebox"):
        assert f'href="/boxes/{slug}"' in page
    assert page.index("Protein MuscleBox") < page.index("Leave a Reply")


def test_article_page_meta_canonical_opengraph_and_json_ld(client, app):
    make_article("meta-check", title="Meta <Check>", author=make_author("Rachel"))
    page = client.get("/blog/meta-check").get_data(as_text=True)
    assert '<link rel="canonical" href="http://shop.test/blog/meta-check">' in page
    assert '<meta property="og:title" content="Meta &lt;Check&gt;">' in page
    assert '<meta property="og:type" content="article">' in page
    assert '<meta name="twitter:card" content="summary">' in page
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["@type"] == "Article" and data["headline"] == "Meta <Check>"
    assert data["author"]["@type"] == "Person" and data["author"]["name"] == "Rachel"
    assert data["author"]["jobTitle"] == "Accredited Exercise Physiologist"
    assert "<Check>" not in match.group(1), "JSON-LD cannot close the script tag"


def test_host_header_does_not_change_canonical_links(client, app):
    make_article("hosty")
    page = client.get("/blog/hosty", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in page


def test_atom_feed_lists_published_articles(client, app):
    make_article("feed-one", title="Feed One", body="Some **bold** text")
    make_article("feed-draft", title="Feed Draft", status=ArticleStatus.DRAFT)
    response = client.get("/feed.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(response.data)
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Feed One"]
    assert entries[0].find(f"{ATOM}link").get("href") == "http://shop.test/blog/feed-one"
    assert "<strong>bold</strong>" in entries[0].findtext(f"{ATOM}content")


def test_sitemap_lists_pages_articles_tags_and_boxes(client, app):
    make_article("map-one", tags=["mobility"])
    make_box()
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.data)
    locs = {el.text for el in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert {
        "http://shop.test/",
        "http://shop.test/blog/",
        "http://shop.test/blog/map-one",
        "http://shop.test/blog/tag/mobility",
        "http://shop.test/boxes/musclebox",
    } <= locs


@pytest.mark.parametrize("path", ["/", "/blog/", "/boxes/", "/account/login"])
def test_public_pages_render(client, app, path):
    make_article("any")
    make_box()
    assert client.get(path).status_code == 200


def test_box_pages(client, app):
    make_box("musclebox", "MuscleBox")
    page = text_of(client.get("/boxes/musclebox"))
    assert "MuscleBox" in page and "Protein bar" in page
    assert client.get("/boxes/unknown").status_code == 404


def test_inactive_box_is_404(client, app):
    from shop.extensions import db

    box = make_box("retired", "Retired Box")
    box.is_active = False
    db.session.commit()
    assert client.get("/boxes/retired").status_code == 404
    assert "Retired Box" not in text_of(client.get("/boxes/"))
