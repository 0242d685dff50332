"""The admin's dashboard: how the business stands today, and over the last twelve months.

Route on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/` — subscribers per box and in total, subscriptions by state, monthly recurring
  revenue, new and cancelled this month, churn over the last 30 days, this month's boxes to ship,
  comments waiting for moderation and failed Stripe events; each figure links to the list behind
  it. A chart (inline SVG, no script) of subscribers and MRR at the end of each of the last 12
  months, with the same numbers in a table.

The rules, as the page states them:

- Every subscription is in exactly one state (`shop.billing.queries.SubscriberState`): active,
  past due, paused or skipping, cancelling, cancelled, or incomplete (a checkout never paid).
  A *subscriber* is a live subscription: active, past due, paused or skipping, or cancelling.
- MRR is, over the live subscriptions, each plan's price per month (price ÷ term months), in AUD
  cents, summed exactly and rounded once. Past-due, skipping and cancelling subscribers count:
  they are still subscribed until their subscription ends.
- "New this month" started in this calendar month (shop time zone); "cancelled this month"
  ended in it (Stripe's ended_at, else canceled_at).
- Churn over the last 30 days = subscriptions that ended in those 30 days ÷ subscribers live
  just before they began.
- The chart's point for a month is the state just before the next month began (for this month:
  now), counted from when each subscription was created and when it ended, at each plan's
  current price.

Everything comes from a fixed number of SQL statements whatever the number of subscriptions: the
figures and the whole chart are one grouped pass over the subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from flask import render_template

from shop.admin.views import bp
from shop.billing.calendar import add_months, month_of
from shop.billing.queries import (
    LIVE_STATES,
    SubscriberState,
    failed_event_count,
    month_box_counts,
    plans_with_boxes,
    subscriber_figures,
)
from shop.catalog.models import Box
from shop.comments.models import CommentStatus
from shop.comments.queries import status_counts
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import db
from shop.money import format_money

CHART_MONTHS = 12
CHURN_WINDOW = timedelta(days=30)

STATE_LABELS: dict[SubscriberState, str] = {
    SubscriberState.ACTIVE: "Active",
    SubscriberState.PAST_DUE: "Past due",
    SubscriberState.PAUSED: "Paused or skipping",
    SubscriberState.CANCELLING: "Cancelling",
    SubscriberState.CANCELLED: "Cancelled",
    SubscriberState.INCOMPLETE: "Incomplete",
}

# The chart's drawing, in viewBox units: 360 wide draws at about 1:1 on a 390 px phone, so the
# 11-unit labels read as 11 px there and scale up on wider screens.
CHART_WIDTH = 360
CHART_HEIGHT = 190
PLOT_LEFT = 46
PLOT_RIGHT = 6
PLOT_TOP = 10
PLOT_BOTTOM = 24
BAR_SHARE = 0.68


@dataclass(frozen=True)
class BoxLine:
    box: Box
    subscribers: int
    mrr_cents: int


@dataclass(frozen=True)
class MonthPoint:
    month: str  # YYYY-MM
    subscribers: int
    mrr_cents: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One bar chart, laid out for an inline SVG."""

    key: str
    title: str
    description: str
    bars: list[Bar]
    ticks: list[Tick]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = PLOT_LEFT
    right: int = CHART_WIDTH - PLOT_RIGHT
    baseline: int = CHART_HEIGHT - PLOT_BOTTOM


@dataclass(frozen=True)
class Figures:
    month: str
    by_state: dict[SubscriberState, int]
    subscribers: int
    mrr_cents: int
    boxes: list[BoxLine]
    new_this_month: int
    ended_this_month: int
    ended_in_window: int
    live_at_window_start: int
    points: list[MonthPoint]

    @property
    def churn_percent(self) -> str | None:
        """Churn over the window as a percentage with one decimal; None with no base."""
        if not self.live_at_window_start:
            return None
        share = Fraction(self.ended_in_window * 100, self.live_at_window_start)
        return f"{_round_half_up(share * 10) / 10:.1f}"


def _round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def month_start(month: str) -> datetime:
    """The first instant of `month` (YYYY-MM) in the shop's time zone, in UTC."""
    tz = shop_timezone()
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=tz).astimezone(UTC)


def business_figures(now: datetime) -> Figures:
    """Every figure of the dashboard at `now`, and the chart's points (two statements)."""
    month = month_of(now, shop_timezone())
    months = [add_months(month, offset) for offset in range(1 - CHART_MONTHS, 1)]
    points = [min(now, month_start(add_months(each, 1))) for each in months]
    plans = db.session.scalars(plans_with_boxes()).all()
    boxes = list(dict.fromkeys(plan.box for plan in plans))
    rows = db.session.execute(
        subscriber_figures(
            now=now,
            month_start=month_start(month),
            window_start=now - CHURN_WINDOW,
            points=points,
        )
    ).all()
    price = {plan.id: Fraction(plan.price_cents, plan.term_months) for plan in plans}
    box_of = {plan.id: plan.box_id for plan in plans}
    by_state = dict.fromkeys(SubscriberState, 0)
    live_by_box = dict.fromkeys((box.id for box in boxes), 0)
    mrr_by_box = dict.fromkeys((box.id for box in boxes), Fraction(0))
    point_live = [0] * len(points)
    point_mrr = [Fraction(0)] * len(points)
    totals = {"new_this_month": 0, "ended_this_month": 0, "ended_in_window": 0}
    live_at_window_start = 0
    for row in rows:
        values = row._mapping
        live = sum(int(values[state.value]) for state in LIVE_STATES)
        for state in SubscriberState:
            by_state[state] += int(values[state.value])
        plan_price = price.get(row.plan_id, Fraction(0))
        box_id = box_of.get(row.plan_id)
        if box_id is not None:
            live_by_box[box_id] += live
            mrr_by_box[box_id] += live * plan_price
        for name in totals:
            totals[name] += int(values[name])
        live_at_window_start += int(values["live_at_window_start"])
        for number in range(len(points)):
            count = int(values[f"point_{number}"])
            point_live[number] += count
            point_mrr[number] += count * plan_price
    return Figures(
        month=month,
        by_state=by_state,
        subscribers=sum(by_state[state] for state in LIVE_STATES),
        mrr_cents=_round_half_up(sum(mrr_by_box.values(), Fraction(0))),
        boxes=[
            BoxLine(box, live_by_box[box.id], _round_half_up(mrr_by_box[box.id])) for box in boxes
        ],
        live_at_window_start=live_at_window_start,
        points=[
            MonthPoint(each, point_live[number], _round_half_up(point_mrr[number]))
            for number, each in enumerate(months)
        ],
        **totals,
    )


def _nice_step(top: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) that covers `top` in at most 4 steps."""
    step = 1.0
    while top / step > 4:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10 → 20 ...
            step *= factor
            if top / step <= 4:
                break
    return step


def bar_chart(
    key: str,
    title: str,
    description: str,
    labels: list[str],
    values: list[float],
    shown: list[str],
    short: Callable[[float], str],
) -> Chart:
    """Lay out a bar chart: one bar per value, a round scale with up to four gridlines."""
    step = _nice_step(max(values, default=0) or 1)
    top = step * max(1, -(-max(values, default=0) // step))
    plot_height = CHART_HEIGHT - PLOT_BOTTOM - PLOT_TOP
    slot = (CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(len(values), 1)
    baseline = CHART_HEIGHT - PLOT_BOTTOM
    bars = []
    for number, (label, value, text) in enumerate(zip(labels, values, shown, strict=True)):
        height = plot_height * value / top
        bars.append(
            Bar(
                x=round(PLOT_LEFT + slot * number + slot * (1 - BAR_SHARE) / 2, 2),
                y=round(baseline - height, 2),
                width=round(slot * BAR_SHARE, 2),
                height=round(height, 2),
                label=label,
                value=text,
            )
        )
    ticks = []
    level = 0.0
    while level <= top + step / 1000:
        ticks.append(Tick(round(baseline - plot_height * level / top, 2), short(level)))
        level += step
    return Chart(key, title, description, bars, ticks)


def _short_count(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 10_000 else f"{value:,.0f}"


def _short_dollars(value: float) -> str:
    return f"${value / 1000:g}k" if value >= 1000 else f"${value:,.0f}"


def _month_short(month: str) -> str:
    return datetime(int(month[:4]), int(month[5:7]), 1).strftime("%b")


def _month_long(month: str) -> str:
    return datetime(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def charts(points: list[MonthPoint]) -> list[Chart]:
    labels = [_month_short(point.month) for point in points]
    first, last = points[0], points[-1]
    span = f"{_month_long(first.month)} to {_month_long(last.month)}"
    return [
        bar_chart(
            "subscribers",
            "Subscribers at the end of each month",
            f"Subscribers at the end of each month, {span}: {first.subscribers:,} at the start, "
            f"{last.subscribers:,} now.",
            labels,
            [float(point.subscribers) for point in points],
            [f"{point.subscribers:,}" for point in points],
            _short_count,
        ),
        bar_chart(
            "mrr",
            "Monthly recurring revenue at the end of each month (AUD)",
            f"Monthly recurring revenue at the end of each month, {span}: "
            f"{format_money(first.mrr_cents)} at the start, {format_money(last.mrr_cents)} now.",
            labels,
            [point.mrr_cents / 100 for point in points],
            [format_money(point.mrr_cents) for point in points],
            _short_dollars,
        ),
    ]


def _comment_counts() -> dict[CommentStatus, int]:
    counts = dict.fromkeys(CommentStatus, 0)
    for status, number in db.session.execute(status_counts()):
        counts[CommentStatus(status)] = number
    return counts


@bp.get("/")
def dashboard() -> str:
    now = utcnow()
    figures = business_figures(now)
    due, shipped = db.session.execute(month_box_counts(figures.month)).one()
    return render_template(
        "admin/dashboard.html",
        figures=figures,
        charts=charts(figures.points),
        state_labels=STATE_LABELS,
        live_states=LIVE_STATES,
        boxes_due=int(due or 0),
        boxes_shipped=int(shipped or 0),
        failed_events=db.session.scalar(failed_event_count()) or 0,
        counts=_comment_counts(),
        month_long=_month_long,
        churn_days=CHURN_WINDOW.days,
    )
