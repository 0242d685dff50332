"""Helpers for calendar tests: move the emulator's clock to a day of the month in Sydney, and
read the box calendar back as (month, box, n of m)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shop.billing.calendar import add_months
from shop.billing.models import BoxStatus, CalendarBox, Subscription
from shop.catalog.models import Box
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator

SYDNEY = ZoneInfo("Australia/Sydney")


def move_to_day(stripe_emulator: RunningEmulator, day: int, hour: int = 12) -> str:
    """Advance the emulator's clock to the next `day` of a month at `hour`, Sydney time.
    Returns that month (YYYY-MM)."""
    now = datetime.fromtimestamp(stripe_emulator.emulator.now(), UTC).astimezone(SYDNEY)
    candidate = now.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)
    while candidate <= now + timedelta(minutes=1):
        month = add_months(candidate.strftime("%Y-%m"), 1)
        candidate = candidate.replace(year=int(month[:4]), month=int(month[5:]), day=day)
    stripe_emulator.advance(seconds=int((candidate - now).total_seconds()))
    return candidate.strftime("%Y-%m")


def months(first: str, count: int) -> list[str]:
    return [add_months(first, offset) for offset in range(count)]


def calendar(subscription: Subscription | None = None) -> list[tuple[str, str, int, int, str]]:
    """Every calendar box as (ship month, box name, n, of m, status), in month order."""
    query = select(CalendarBox, Box.name).join(Box, Box.id == CalendarBox.box_id)
    if subscription is not None:
        query = query.where(CalendarBox.subscription_id == subscription.id)
    rows = db.session.execute(query.order_by(CalendarBox.ship_month, CalendarBox.id)).all()
    return [
        (box.ship_month, name, box.sequence, box.term_months, box.status.value)
        for box, name in rows
    ]


def ship_months(status: BoxStatus | None = None) -> list[str]:
    return [row[0] for row in calendar() if status is None or row[4] == status.value]


def run_every_month() -> None:
    """The shipping run for every month that has boxes."""
    from shop.billing.shipping import run_shipping

    for month in sorted(set(ship_months())):
        run_shipping(month)
