"""Article Markdown as readers get it: the page's one h1 is the title, so a body's level-1
headings become h2 (and its deeper ones shift with them), in the stored HTML, on the public
page and in the editor's preview alike; `flask render-articles` brings stored bodies up to date."""

from __future__ import annotations

import re

from sqlalchemy import select

from shop.blog.models import Article
from shop.blog.rendering import render_markdown
from shop.extensions import db
from tests.admin.test_articles import post_article
from tests.builders.content import make_article, make_author
from tests.helpers import text_of

OUTLINED = "# Warm up\n\nEasy.\n\n## Hips\n\nOpen.\n\nMain lift\n=========\n\n###### Footnote\n"


def headings(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<(h[1-6])[^>]*>(.*?)</h[1-6]>", html)


def test_level_one_headings_become_h2_and_the_rest_shift_with_them():
    assert headings(render_markdown(OUTLINED)) == [
        ("h2", "Warm up"),
        ("h3", "Hips"),
        ("h2", "Main lift"),  # an underlined (setext) level-1 heading too
        ("h6", "Footnote"),  # h6 is the deepest there is
    ]
    assert headings(render_markdown("> # Quoted\n\n- # In a list")) == [
        ("h2", "Quoted"),
        ("h2", "In a list"),
    ]


def test_a_body_without_level_one_headings_is_rendered_as_written():
    assert headings(render_markdown("## Set up\n\n### Feet\n\n#### Grip")) == [
        ("h2", "Set up"),
        ("h3", "Feet"),
        ("h4", "Grip"),
    ]
    assert headings(render_markdown("Just text.\n\n    # code, not a heading")) == []


def test_the_public_page_has_one_h1_and_keeps_the_bodys_headings(client, app):
    make_article("outlined", title="Leg day", body=OUTLINED)
    page = text_of(client.get("/blog/outlined"))
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page) == ["Leg day"]
    assert "<h2>Warm up</h2>" in page and "<h3>Hips</h3>" in page


def test_the_preview_shows_the_headings_as_the_page_will(admin_client, app):
    author = make_author("Rachel Lifts")
    response = post_article(
        admin_client, author, "/admin/articles/new/preview", title="Leg day", body="# Hi\n\nThere."
    )
    assert response.status_code == 200
    page = text_of(response)
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page) == ["Leg day"]
    assert "<h2>Hi</h2>" in page

    assert (
        post_article(admin_client, author, title="Leg day", body="# Hi\n\nThere.").status_code
        == 303
    )
    saved = db.session.scalar(select(Article))
    assert "<h2>Hi</h2>" in saved.body_html


def test_render_articles_brings_stored_bodies_up_to_date_and_keeps_their_dates(runner, app):
    author = make_author("Coach Kim")
    stale = [
        make_article(f"stale-{n}", body=f"# Part {n}\n\nText.", author=author) for n in range(3)
    ]
    fresh = [make_article(f"fresh-{n}", body="## Fine\n\nText.", author=author) for n in range(5)]
    for article in stale:  # as the renderer before this change stored them: the h1 stripped
        article.body_html = f"Part {article.slug[-1]}\n<p>Text.</p>\n"
    db.session.commit()
    before = {a.id: (a.updated_at, a.body_html) for a in stale + fresh}

    result = runner.invoke(args=["render-articles"])
    assert result.exit_code == 0, result.output
    assert "Rendered 3 article(s) again" in result.output
    db.session.expire_all()
    for article in stale:
        assert article.body_html == f"<h2>Part {article.slug[-1]}</h2>\n<p>Text.</p>\n"
        assert article.updated_at == before[article.id][0]
    for article in fresh:
        assert (article.updated_at, article.body_html) == before[article.id]

    again = runner.invoke(args=["render-articles"])
    assert again.exit_code == 0 and "Rendered 0 article(s) again" in again.output
