"""The box calendar: which month each paid-for box ships in.

The business rule, in full:

- A plan is a box on a term of 1, 3, 6 or 12 months, paid at the start of each term. Every paid
  period grants one box per month of its term, each with a ship month (`YYYY-MM`, in
  SHOP_TIMEZONE). Nothing is granted for an invoice that is not paid; a late payment grants its
  boxes when it is paid.
- The first box of a subscription ships in the month its first period was paid if that was on or
  before SHIPPING_CUTOFF_DAY, otherwise in the next month. Later periods follow on from the
  subscription's last box, with no gap and no overlap — except that a box never ships before its
  period is paid (the cut-off month of the payment), so a skipped month stays skipped and a late
  payment ships from the next open month.
- Never two boxes for one subscription in one month (a unique constraint), never more boxes for
  an invoice than its term (another one). Granting is idempotent: a duplicate `invoice.paid`
  changes nothing, and a partly granted invoice is topped up.
- The boxes of a paid invoice are of the plan that invoice paid for, so a plan switch keeps the
  boxes already granted and the new plan's boxes start with its first paid period.
- Cancelling at period end keeps every box paid for. A subscription that ends before its paid
  period is over (cancelled at once, or unpaid after Stripe's retries) gets no box it did not pay
  for; the boxes it paid for that have not been shipped are HELD for an admin to send or cancel.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
)
from shop.catalog.models import Plan
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import db

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# A subscription that ends within this long of its period's end ended "at period end".
PERIOD_END_TOLERANCE_SECONDS = 60 * 60


class BadMonth(ValueError):
    """Not a month written as YYYY-MM."""


def parse_month(raw: str | None) -> str:
    """A valid `YYYY-MM` (years 2000 to 2999); raises BadMonth otherwise."""
    value = (raw or "").strip()
    match = MONTH_PATTERN.match(value)
    if match is None or not 2000 <= int(match.group(1)) <= 2999:
        raise BadMonth("A month looks like 2026-12 (year, then month).")
    return value


def add_months(month: str, count: int) -> str:
    """`2026-12` plus 1 is `2027-01`."""
    year, number = int(month[:4]), int(month[5:])
    index = year * 12 + (number - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m")


def cutoff_month(paid_at: datetime, cutoff_day: int, tz: ZoneInfo) -> str:
    """The first month a period paid at `paid_at` can ship in: this month on or before the
    cut-off day (shop time), the next one after it."""
    local = paid_at.astimezone(tz)
    month = local.strftime("%Y-%m")
    return month if local.day <= cutoff_day else add_months(month, 1)


def months_for_period(
    last_month: str | None, paid_at: datetime, term_months: int, cutoff_day: int, tz: ZoneInfo
) -> list[str]:
    """The ship months of a newly paid period: following on from `last_month`, never before the
    payment's cut-off month."""
    earliest = cutoff_month(paid_at, cutoff_day, tz)
    first = earliest if last_month is None else max(add_months(last_month, 1), earliest)
    return [add_months(first, offset) for offset in range(term_months)]


def current_month() -> str:
    """This month in the shop's time zone."""
    return month_of(utcnow(), shop_timezone())


def ship_months_of(subscription: Subscription) -> list[str]:
    """The ship months of a subscription's boxes (cancelled ones left out), in order."""
    return list(
        db.session.scalars(
            select(CalendarBox.ship_month)
            .where(
                CalendarBox.subscription_id == subscription.id,
                CalendarBox.status != BoxStatus.CANCELLED,
            )
            .order_by(CalendarBox.ship_month)
        )
    )


# -- granting and holding boxes (database; never commits) ------------------------------------


def grant_boxes(invoice: Invoice, subscription: Subscription, plan: Plan) -> list[CalendarBox]:
    """Give a paid invoice its term's boxes (those it lacks). Does not commit.

    Call under the subscription's lock (see `subscriptions.lock_subscription`); the unique
    constraints still stop a second set should two writers ever race.
    """
    paid_at = invoice.paid_at or invoice.period_start or utcnow()
    have = db.session.scalar(
        select(func.count(CalendarBox.id)).where(CalendarBox.invoice_id == invoice.id)
    )
    missing = plan.term_months - (have or 0)
    if missing <= 0:
        return []
    last_month = db.session.scalar(
        select(func.max(CalendarBox.ship_month)).where(
            CalendarBox.subscription_id == subscription.id
        )
    )
    months = months_for_period(
        last_month, paid_at, missing, current_app.config["SHIPPING_CUTOFF_DAY"], shop_timezone()
    )
    held = _ended_early(subscription)
    boxes = [
        CalendarBox(
            subscription_id=subscription.id,
            customer_id=subscription.customer_id,
            invoice_id=invoice.id,
            plan_id=plan.id,
            box_id=plan.box_id,
            ship_month=month,
            sequence=(have or 0) + offset + 1,
            term_months=plan.term_months,
            status=BoxStatus.HELD if held else BoxStatus.SCHEDULED,
            held_at=utcnow() if held else None,
        )
        for offset, month in enumerate(months)
    ]
    db.session.add_all(boxes)
    db.session.flush()
    return boxes


def _ended_early(subscription: Subscription) -> bool:
    """Ended before the end of the period it was in (cancelled at once, or unpaid)."""
    if subscription.ended_at is None:
        return False
    end = subscription.current_period_end
    if end is None:
        return True
    return (end - subscription.ended_at).total_seconds() > PERIOD_END_TOLERANCE_SECONDS


def hold_unshipped_boxes(subscription: Subscription) -> int:
    """When a subscription has ended early, hold its paid, unshipped boxes for an admin to
    decide. Returns how many were held. Does not commit."""
    if not _ended_early(subscription):
        return 0
    boxes = db.session.scalars(
        select(CalendarBox)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.subscription_id == subscription.id,
            CalendarBox.status == BoxStatus.SCHEDULED,
            CalendarBox.decided_at.is_(None),  # an admin's "send it" stands
            (Shipment.id.is_(None)) | (Shipment.status != ShipmentStatus.SHIPPED),
        )
    ).all()
    now = utcnow()
    for box in boxes:
        box.status = BoxStatus.HELD
        box.held_at = now
    db.session.flush()
    return len(boxes)
