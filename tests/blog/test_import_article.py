"""`flask import-article`: Markdown with YAML front matter, the client's own format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.blog.models import Article, Author
from shop.extensions import db
from tests.builders.content import make_box
from tests.helpers import text_of, visible_text

SHARED_ARTICLE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "content"
    / "back-pain-isnt-the-end-of-your-training.md"
)


@pytest.mark.skipif(
    not SHARED_ARTICLE.exists(), reason=f"client article not found at {SHARED_ARTICLE}"
)
def test_imports_the_client_article_and_renders_it(runner, client):
    for position, (slug, name) in enumerate(
        [
            ("musclebox", "MuscleBox"),
            ("miss-musclebox", "Miss MuscleBox"),
            ("protein-musclebox", "Protein MuscleBox"),
        ]
    ):
        make_box(slug, name, position)
    result = runner.invoke(args=["import-article", str(SHARED_ARTICLE)])
    assert result.exit_code == 0, result.output
    assert "Imported /blog/back-pain-isnt-the-end-of-your-training" in result.output

    response = client.get("/blog/back-pain-isnt-the-end-of-your-training")
    assert response.status_code == 200
    page = text_of(response)
    text = visible_text(response)
    assert "<title>Back Pain Isn't the End of Your Training" in page
    assert "Accredited Exercise Physiologist" in text
    assert "RE.connection Project" in text
    assert 'href="https://www.instagram.com/re.connection_project"' in page
    hinge = [
        "Weight through your heels",
        "Tension through your hamstrings (this is usually where people go wrong)",
        "Lock in through your lats",
        "Head neutral",
        "Ribs stacked over your hips",
    ]
    assert "<ol>\n" + "\n".join(f"<li>{item}</li>" for item in hinge) + "\n</ol>" in page
    for name in ("MuscleBox", "Miss MuscleBox", "Protein MuscleBox"):
        assert name in text
    assert "Leave a Reply" in text
    assert "Your email address will not be published. Required fields are marked *" in text
    assert 'action="/blog/back-pain-isnt-the-end-of-your-training/comments#comment-errors"' in page
    # One h1, the title; whatever headings the body has are h2 or deeper, none lost.
    assert re.findall(r"<h1[ >]", page) == ["<h1 "]
    source = SHARED_ARTICLE.read_text(encoding="utf-8").split("---", 2)[2]
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", source, re.M):
        assert re.search(rf"<h[2-6]>{re.escape(heading)}</h[2-6]>", page), heading
    article = db.session.scalar(select(Article))
    assert article.reading_minutes == 4
    assert [t.name for t in article.tags] == ["back pain", "mobility", "strength", "training"]


def _write(tmp_path: Path, title: str, body: str, extra: str = "") -> Path:
    path = tmp_path / "article.md"
    path.write_text(
        f'---\ntitle: "{title}"\nslug: my-article\nauthor: Coach Kim\n'
        f"author_credentials: Physio\ntags: [a, b]\n{extra}---\n\n{body}\n",
        encoding="utf-8",
    )
    return path


def test_importing_the_same_slug_again_updates_it(runner, tmp_path, client):
    path = _write(tmp_path, "First title", "First body.")
    assert runner.invoke(args=["import-article", str(path)]).exit_code == 0
    first = db.session.scalar(select(Article))
    published_at = first.published_at

    path = _write(tmp_path, "Second title", "Second body.")
    result = runner.invoke(args=["import-article", str(path)])
    assert result.exit_code == 0 and "Updated /blog/my-article" in result.output
    assert db.session.scalar(select(func.count(Article.id))) == 1
    assert db.session.scalar(select(func.count(Author.id))) == 1
    article = db.session.scalar(select(Article))
    assert article.title == "Second title" and "Second body." in article.body_html
    assert article.published_at == published_at, "re-importing keeps the publication date"
    assert "Second title" in text_of(client.get("/blog/my-article"))


def test_import_sanitises_html_in_markdown(runner, tmp_path, client):
    body = '<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<p onclick="x()">hi</p>'
    path = _write(tmp_path, "Unsafe", body)
    assert runner.invoke(args=["import-article", str(path)]).exit_code == 0
    page = client.get("/blog/my-article").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert 'href="javascript:' not in page
    assert "onclick" not in page


def test_draft_and_scheduled_front_matter(runner, tmp_path, client):
    path = _write(tmp_path, "Later", "Body.", extra="status: scheduled\npublished_at: 2999-01-01\n")
    assert runner.invoke(args=["import-article", str(path)]).exit_code == 0
    assert client.get("/blog/my-article").status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no front matter here", "no YAML front matter"),
        ("---\ntitle: [unclosed\n---\nbody", "not valid YAML"),
        ("---\n- a list\n---\nbody", "must be a mapping"),
        ('---\ntitle: "T"\nauthor: A\n---\n', "needs a title and a body"),
        ('---\ntitle: "T"\n---\nbody', "needs an author"),
        ('---\ntitle: "T"\nauthor: A\nstatus: live\n---\nbody', "draft, scheduled or published"),
        ('---\ntitle: "T"\nauthor: A\npublished_at: someday\n---\nbody', "not an ISO date"),
    ],
)
def test_bad_files_fail_with_a_clear_message(runner, tmp_path, content, message):
    path = tmp_path / "bad.md"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["import-article", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count(Article.id))) == 0


def test_missing_file_fails_cleanly(runner):
    result = runner.invoke(args=["import-article", "/no/such/file.md"])
    assert result.exit_code != 0 and "does not exist" in result.output
