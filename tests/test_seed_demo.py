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


def test_seed_demo_adds_subscribers_at_different_points_of_their_calendars(runner):
    from shop.billing.calendar import add_months, current_month
    from shop.billing.models import BoxStatus, CalendarBox, Shipment, Subscription

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    subscriptions = db.session.scalars(select(Subscription)).all()
    assert len(subscriptions) == 5
    assert {s.plan.term_months for s in subscriptions} == {1, 3, 6, 12}
    assert any(s.is_skipping for s in subscriptions)
    assert any(s.cancel_at_period_end for s in subscriptions)
    months = set(db.session.scalars(select(CalendarBox.ship_month)))
    assert {current_month(), add_months(current_month(), 1)} <= months
    assert any(month < current_month() for month in months), "some boxes already shipped"
    assert db.session.scalar(select(func.count(Shipment.id))) >= 1
    assert all(box.status is BoxStatus.SCHEDULED for box in db.session.scalars(select(CalendarBox)))

    before = db.session.scalar(select(func.count(CalendarBox.id)))
    assert "nothing changed" in runner.invoke(args=["seed-demo"]).output
    assert db.session.scalar(select(func.count(CalendarBox.id))) == before
    run = runner.invoke(args=["shipping-run"])
    assert run.exit_code == 0 and "new shipment(s)" in run.output
