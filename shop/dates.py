"""Dates as Australians read them, in the shop's time zone (times are stored in UTC)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

EN_DASH = " \u2013 "  # spaced, as Australian style writes date ranges


def shop_timezone() -> ZoneInfo:
    """SHOP_TIMEZONE (Australia/Sydney unless configured)."""
    return ZoneInfo(current_app.config["SHOP_TIMEZONE"])


def short_date(value: datetime, tz: ZoneInfo, now: datetime) -> str:
    """ "3 Jan" in the shop's time zone; "3 Jan 2027" when it is not this year."""
    local = value.astimezone(tz)
    text = f"{local.day} {local:%b}"
    return text if local.year == now.astimezone(tz).year else f"{text} {local.year}"


def date_time(value: datetime, tz: ZoneInfo) -> str:
    """ "3 Jan 2027, 4:05 pm AEDT" in the shop's time zone (for the admin's logs and lists)."""
    local = value.astimezone(tz)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%b %Y}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'} {local:%Z}"


def long_date(value: datetime, tz: ZoneInfo) -> str:
    """ "3 January 2027" in the shop's time zone."""
    local = value.astimezone(tz)
    return f"{local.day} {local:%B %Y}"


def date_range(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str:
    """A billing period as "3 Jan to 2 Feb 2027" with an en dash (the year once when shared)."""
    if start is None and end is None:
        return ""
    if start is None or end is None:
        return long_date(start or end, tz)  # type: ignore[arg-type]
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first.year == last.year:
        return f"{first.day} {first:%b}{EN_DASH}{last.day} {last:%b} {last.year}"
    return f"{first.day} {first:%b} {first.year}{EN_DASH}{last.day} {last:%b} {last.year}"


def month_label(month: str) -> str:
    """A ship month `2027-01` as "January 2027"."""
    return datetime(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def ordinal(number: int) -> str:
    """20 → "20th", 21 → "21st", 12 → "12th"."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"
