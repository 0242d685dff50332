"""GET /admin/: the business's figures, the 12-month chart, links to the lists, a fixed query count.

The expected figures are computed here, in Python, from the rows themselves, by the rules the
page states — not by the queries the page runs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    EventOutcome,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.catalog.models import Box, Plan
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.extensions import db
from tests.blog.test_query_budget import count_statements
from tests.builders.billing import make_customer, make_plan, make_subscription
from tests.builders.business import realistic_business
from tests.builders.content import make_box

NEVER_STARTED = {SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED}
LIVE = {"active", "past_due", "paused", "cancelling"}


def state_of(subscription: Subscription) -> str:
    """The page's rule for a subscription's state, written out again."""
    status = subscription.status
    if status is SubscriptionStatus.CANCELED:
        return "cancelled"
    if status in NEVER_STARTED:
        return "incomplete"
    if status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        return "past_due"
    if status is SubscriptionStatus.PAUSED or subscription.pause_behavior:
        return "paused"
    if subscription.cancel_at_period_end or subscription.cancel_at:
        return "cancelling"
    return "active"


def ended_at(subscription: Subscription) -> datetime | None:
    return subscription.ended_at or subscription.canceled_at


def live_just_before(subscription: Subscription, moment: datetime) -> bool:
    if subscription.status in NEVER_STARTED or subscription.created_at >= moment:
        return False
    if subscription.status is SubscriptionStatus.CANCELED:
        end = ended_at(subscription)
        return end is not None and end >= moment
    return subscription.ended_at is None or subscription.ended_at >= moment


def cents(value: Fraction) -> int:
    return int(value + Fraction(1, 2))


def aud(amount: int) -> str:
    return f"${amount // 100:,}.{amount % 100:02d} AUD"


@dataclass
class Expected:
    by_state: dict[str, int]
    subscribers: int
    mrr: int
    by_box: dict[str, tuple[int, int]]
    new_this_month: int
    ended_this_month: int
    churn: str
    points: dict[str, tuple[int, int]]
    boxes_to_ship: int
    pending_comments: int
    failed_events: int


def month_start(year: int, month: int, tz: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)


def expected_figures(app: Flask, now: datetime) -> Expected:
    tz = ZoneInfo(app.config["SHOP_TIMEZONE"])
    subscriptions = db.session.scalars(select(Subscription)).all()
    plans = {plan.id: plan for plan in db.session.scalars(select(Plan)).all()}
    boxes = {box.id: box for box in db.session.scalars(select(Box)).all()}
    by_state = dict.fromkeys(["active", "past_due", "paused", "cancelling", "cancelled"], 0)
    by_state["incomplete"] = 0
    live = [s for s in subscriptions if state_of(s) in LIVE]
    for subscription in subscriptions:
        by_state[state_of(subscription)] += 1

    def mrr(group: list[Subscription]) -> int:
        return cents(
            sum(
                (
                    Fraction(plans[s.plan_id].price_cents, plans[s.plan_id].term_months)
                    for s in group
                ),
                Fraction(0),
            )
        )

    by_box = {}
    for box in boxes.values():
        group = [s for s in live if plans[s.plan_id].box_id == box.id]
        by_box[box.slug] = (len(group), mrr(group))
    local = now.astimezone(tz)
    this_month_start = month_start(local.year, local.month, tz)
    window = now - timedelta(days=30)
    ended_in_window = sum(
        1
        for s in subscriptions
        if s.status is SubscriptionStatus.CANCELED and window < ended_at(s) <= now
    )
    base = sum(1 for s in subscriptions if live_just_before(s, window))
    churn = f"{int(Fraction(ended_in_window * 1000, base) + Fraction(1, 2)) / 10:.1f}%"
    points = {}
    year, month = local.year, local.month
    for _offset in range(12):
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        moment = min(now, month_start(next_year, next_month, tz))
        group = [s for s in subscriptions if live_just_before(s, moment)]
        points[f"{year:04d}-{month:02d}"] = (len(group), mrr(group))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    this_month = f"{local.year:04d}-{local.month:02d}"
    due = db.session.scalars(
        select(CalendarBox).where(
            CalendarBox.ship_month == this_month, CalendarBox.status == BoxStatus.SCHEDULED
        )
    ).all()
    shipped = {
        shipment.calendar_box_id
        for shipment in db.session.scalars(
            select(Shipment).where(Shipment.status == ShipmentStatus.SHIPPED)
        )
    }
    return Expected(
        by_state=by_state,
        subscribers=len(live),
        mrr=mrr(live),
        by_box=by_box,
        new_this_month=sum(
            1
            for s in subscriptions
            if s.status not in NEVER_STARTED and s.created_at >= this_month_start
        ),
        ended_this_month=sum(
            1
            for s in subscriptions
            if s.status is SubscriptionStatus.CANCELED and ended_at(s) >= this_month_start
        ),
        churn=churn,
        points=points,
        boxes_to_ship=sum(1 for box in due if box.id not in shipped),
        pending_comments=db.session.scalar(
            select(func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)
        ),
        failed_events=db.session.scalar(
            select(func.count(WebhookEvent.id)).where(WebhookEvent.outcome == EventOutcome.FAILED)
        ),
    )


def figure(page: str, key: str) -> str:
    match = re.search(
        rf'data-figure="{key}">\s*<span class="admin-stat-number">([^<]*)</span>', page
    )
    assert match, f"no figure {key}"
    return html.unescape(match.group(1)).strip()


def figure_link(page: str, key: str) -> str:
    match = re.search(rf'href="([^"]+)" data-figure="{key}"', page)
    assert match, f"no link for {key}"
    return html.unescape(match.group(1))


def cell(page: str, row_attribute: str, key: str) -> str:
    row = re.search(rf"<tr {row_attribute}>(.*?)</tr>", page, re.S)
    assert row, f"no row {row_attribute}"
    match = re.search(rf'data-figure="{key}">([^<]*)<', row.group(1))
    assert match, f"no {key} in {row_attribute}"
    return match.group(1).strip()


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_dashboard_figures_match_the_subscriptions(app: Flask, admin_client: FlaskClient) -> None:
    realistic_business(120)
    page = admin_client.get("/admin/").get_data(as_text=True)
    expected = expected_figures(app, utcnow())

    assert number(figure(page, "subscribers")) == expected.subscribers > 0
    assert figure(page, "mrr") == aud(expected.mrr)
    for state, count in expected.by_state.items():
        assert number(figure(page, f"state-{state}")) == count, state
        assert count > 0, f"the business has no {state} subscription"
    assert sum(expected.by_state[state] for state in LIVE) == expected.subscribers
    for slug, (subscribers, mrr) in expected.by_box.items():
        assert number(cell(page, f'data-box="{slug}"', "box-subscribers")) == subscribers
        assert cell(page, f'data-box="{slug}"', "box-mrr") == aud(mrr)
    assert number(figure(page, "new-this-month")) == expected.new_this_month
    assert number(figure(page, "cancelled-this-month")) == expected.ended_this_month
    assert figure(page, "churn") == expected.churn
    assert number(figure(page, "boxes-to-ship")) == expected.boxes_to_ship > 0
    assert number(figure(page, "comments-pending")) == expected.pending_comments > 0
    assert number(figure(page, "failed-events")) == expected.failed_events > 0
    assert "Churn = subscriptions that ended in the last 30 days" in html.unescape(page)


def test_the_chart_shows_twelve_months_of_subscribers_and_revenue(
    app: Flask, admin_client: FlaskClient
) -> None:
    realistic_business(120)
    page = admin_client.get("/admin/").get_data(as_text=True)
    expected = expected_figures(app, utcnow())

    months = re.findall(r'<tr data-month="(\d{4}-\d{2})">', page)
    assert months == sorted(expected.points)
    for month, (subscribers, mrr) in expected.points.items():
        assert number(cell(page, f'data-month="{month}"', "point-subscribers")) == subscribers
        assert cell(page, f'data-month="{month}"', "point-mrr") == aud(mrr)
    # The business grew over the year, and this month's point is today's headline.
    assert expected.points[months[0]][0] < expected.points[months[-1]][0]
    assert expected.points[months[-1]] == (expected.subscribers, expected.mrr)

    charts = re.findall(r"<svg [^>]*>.*?</svg>", page, re.S)
    assert len(charts) == 2
    for chart in charts:
        assert 'role="img"' in chart and 'viewBox="0 0 ' in chart
        assert "<title" in chart and "<desc" in chart and "<script" not in chart
        assert len(re.findall(r"<rect ", chart)) == 12
    # Bars are as tall as their numbers: the tallest subscribers bar is the biggest month.
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', charts[0])]
    values = [expected.points[month][0] for month in months]
    assert heights.index(max(heights)) == values.index(max(values))
    assert heights[0] / heights[-1] == pytest.approx(values[0] / values[-1], rel=0.01)


def test_each_figure_links_to_the_list_behind_it(app: Flask, admin_client: FlaskClient) -> None:
    realistic_business(90)
    page = admin_client.get("/admin/").get_data(as_text=True)
    keys = ["subscribers", "new-this-month", "cancelled-this-month"]
    keys += [f"state-{state}" for state in ("active", "past_due", "paused", "cancelling")]
    keys += ["state-cancelled", "state-incomplete"]
    for key in keys:
        listed = admin_client.get(figure_link(page, key)).get_data(as_text=True)
        total = re.search(r'data-total="(\d+)"', listed)
        assert total, key
        assert int(total.group(1)) == number(figure(page, key)), key
    for slug in ("musclebox", "shredbox", "recoverybox"):
        row = re.search(rf'<tr data-box="{slug}">.*?href="([^"]+)"', page, re.S)
        assert row
        listed = admin_client.get(html.unescape(row.group(1))).get_data(as_text=True)
        total = int(re.search(r'data-total="(\d+)"', listed).group(1))  # type: ignore[union-attr]
        assert total == number(cell(page, f'data-box="{slug}"', "box-subscribers"))
    assert figure_link(page, "failed-events") == "/admin/events?status=failed"
    assert figure_link(page, "comments-pending") == "/admin/comments?status=pending"
    assert figure_link(page, "boxes-to-ship").startswith("/admin/shipments?month=")
    assert admin_client.get(figure_link(page, "boxes-to-ship")).status_code == 200


def test_mrr_is_each_plans_price_per_month_over_live_subscriptions(
    admin_client: FlaskClient,
) -> None:
    box = make_box("musclebox", "MuscleBox")
    monthly = make_plan(box, term_months=1, price_cents=4995)
    quarterly = make_plan(box, term_months=3, price_cents=13995)
    yearly = make_plan(box, term_months=12, price_cents=49995)
    jo = make_customer("jo@example.com")
    make_subscription(jo, monthly)
    make_subscription(jo, quarterly, status=SubscriptionStatus.PAST_DUE)
    make_subscription(jo, yearly, skipping=True)
    make_subscription(jo, monthly, cancel_at_period_end=True)
    make_subscription(jo, yearly, status=SubscriptionStatus.CANCELED, ended_at=utcnow())
    make_subscription(jo, yearly, status=SubscriptionStatus.INCOMPLETE)
    page = admin_client.get("/admin/").get_data(as_text=True)
    # 49.95 + 139.95/3 + 499.95/12 + 49.95 = 49.95 + 46.65 + 41.6625 + 49.95 = 188.2125
    assert figure(page, "mrr") == "$188.21 AUD"
    assert figure(page, "subscribers") == "4"
    assert [figure(page, f"state-{state}") for state in ("active", "past_due", "paused")] == [
        "1",
        "1",
        "1",
    ]
    assert figure(page, "state-cancelling") == "1"
    assert figure(page, "state-cancelled") == "1"
    assert figure(page, "state-incomplete") == "1"
    assert figure(page, "cancelled-this-month") == "1"


def test_an_empty_shop_has_a_dashboard_of_zeros(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert figure(page, "subscribers") == "0"
    assert figure(page, "mrr") == "$0.00 AUD"
    assert figure(page, "churn") == "—"
    assert len(re.findall(r'<tr data-month="', page)) == 12
    assert "No boxes on sale yet." in page


def _statements(client: FlaskClient, path: str) -> int:
    with count_statements(db.engine) as statements:
        response = client.get(path)
        assert response.status_code == 200
    return len(statements)


def test_the_dashboard_runs_the_same_statements_whatever_the_number_of_subscriptions(
    admin_client: FlaskClient,
) -> None:
    realistic_business(30)
    few = _statements(admin_client, "/admin/")
    realistic_business(150)
    many = _statements(admin_client, "/admin/")
    assert many == few
    assert many <= 20


def test_churn_links_to_exactly_the_subscriptions_it_counts(
    app: Flask, admin_client: FlaskClient
) -> None:
    realistic_business(90)
    page = admin_client.get("/admin/").get_data(as_text=True)
    expected = expected_figures(app, utcnow())
    link = figure_link(page, "churn")
    assert link == "/admin/subscriptions?ended_days=30"
    listed = admin_client.get(link).get_data(as_text=True)
    ended_in_window = int(re.search(r'data-total="(\d+)"', listed).group(1))  # type: ignore[union-attr]
    assert ended_in_window > 0
    assert f"subscriptions that ended in the last 30 days ({ended_in_window})" in html.unescape(
        page
    )
    assert "ended in the last 30 days" in listed
    assert expected.churn != "—"
    for bad in ("0", "367", "abc", "-1", "٣"):
        assert admin_client.get(f"/admin/subscriptions?ended_days={bad}").status_code == 400
    both = admin_client.get("/admin/subscriptions?ended_days=30&ended=2026-11")
    assert both.status_code == 400
