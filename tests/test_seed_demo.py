"""`flask seed-demo` loads demo content once."""

from __future__ import annotations

from sqlalchemy import func, select

from shop.blog.models import Article, Author
from shop.catalog.models import Box
from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.helpers import text_of


def _counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Box, Author, Article, Comment)
    )


def test_seed_demo_loads_boxes_author_articles_and_comments_in_every_state(runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert [b.slug for b in db.session.scalars(select(Box).order_by(Box.position))] == [
        "musclebox",
        "miss-musclebox",
        "protein-musclebox",
    ]
    assert db.session.scalar(select(func.count(Author.id))) == 1
    assert db.session.scalar(select(func.count(Article.id))) >= 3
    statuses = set(db.session.scalars(select(Comment.status)))
    assert statuses == set(CommentStatus)
    home = text_of(client.get("/"))
    assert "Protein MuscleBox" in home and "From the blog" in home


def test_seed_demo_twice_changes_nothing(runner):
    runner.invoke(args=["seed-demo"])
    before = _counts()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "nothing changed" in result.output
    assert _counts() == before
