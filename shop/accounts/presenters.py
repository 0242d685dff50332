"""How the account page and emails put things into words: statuses, the box calendar, dates.

Pure functions of their arguments (no database, no app), so every wording is unit-tested.
Times are stored in UTC and shown in the shop's time zone (SHOP_TIMEZONE, Australia/Sydney);
ship months (`YYYY-MM`) are already the shop's months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from shop.billing.calendar import months_for_period
from shop.billing.models import BoxStatus, ShipmentStatus, SubscriptionStatus
from shop.billing.shipping import tracking_url
from shop.dates import date_range, long_date, month_label, short_date

__all__ = ["date_range", "long_date", "short_date"]


class Tone(StrEnum):
    """How a status should look: fine, needs watching, needs the customer, over."""

    OK = "ok"
    WARN = "warn"
    ALERT = "alert"
    ENDED = "ended"


@dataclass(frozen=True)
class StatusWords:
    text: str
    tone: Tone
    detail: str = ""
    needs_card: bool = False


class SubscriptionLike(Protocol):
    status: SubscriptionStatus
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    ended_at: datetime | None


def describe_subscription(
    subscription: SubscriptionLike, *, now: datetime, tz: ZoneInfo
) -> StatusWords:
    """The status of a subscription as the customer should read it."""
    status = subscription.status
    end = subscription.current_period_end

    def day(value: datetime) -> str:
        return short_date(value, tz, now)

    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        cancels_on = subscription.cancel_at or (end if subscription.cancel_at_period_end else None)
        if cancels_on is not None:
            return StatusWords(
                f"Cancels on {day(cancels_on)}",
                Tone.WARN,
                "Your boxes keep coming until then. Changed your mind? Manage billing to keep it.",
            )
        if status is SubscriptionStatus.TRIALING:
            return StatusWords(
                f"Free trial — first payment {day(end)}" if end else "Free trial", Tone.OK
            )
        return StatusWords(f"Active — renews {day(end)}" if end else "Active", Tone.OK)
    if status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        return StatusWords(
            "Payment failed — update your card",
            Tone.ALERT,
            "We couldn't take your last payment. Update your card and we'll try again.",
            needs_card=True,
        )
    if status is SubscriptionStatus.PAUSED:
        return StatusWords(
            "Paused — add a card to restart",
            Tone.WARN,
            "No boxes are sent while your subscription is paused.",
            needs_card=True,
        )
    if status is SubscriptionStatus.INCOMPLETE:
        return StatusWords(
            "Waiting for your first payment",
            Tone.WARN,
            "Your first box ships once the payment goes through.",
        )
    if status is SubscriptionStatus.INCOMPLETE_EXPIRED:
        return StatusWords(
            "Not started — the first payment didn't go through",
            Tone.ENDED,
            "Nothing was charged. You're welcome to subscribe again.",
        )
    ended = subscription.ended_at
    return StatusWords(
        "Cancelled", Tone.ENDED, f"Ended on {long_date(ended, tz)}." if ended else ""
    )


def is_current(subscription: SubscriptionLike) -> bool:
    """Still running or waiting on the customer (not cancelled, not a checkout that lapsed)."""
    return subscription.status not in (
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
    )


COUNTRY_NAMES = {"AU": "Australia", "NZ": "New Zealand"}


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())


# -- the box calendar ----------------------------------------------------------------------


class ShipmentLike(Protocol):
    status: ShipmentStatus
    shipped_at: datetime | None
    carrier: str
    tracking_number: str


class CalendarBoxLike(Protocol):
    ship_month: str
    sequence: int
    term_months: int
    status: BoxStatus

    @property
    def shipment(self) -> ShipmentLike | None: ...


@dataclass(frozen=True)
class CalendarLine:
    """One box on the customer's calendar, in words."""

    box_name: str
    month: str  # YYYY-MM, for ordering
    heading: str  # "Box 2 of 3 — ships in January"
    status: str
    tone: Tone
    detail: str = ""
    tracking_text: str = ""  # "Australia Post 33ABC123"
    tracking_url: str | None = None


def month_words(month: str, this_month: str) -> str:
    """`2027-01` → "January" in the current year, "January 2027" in any other."""
    label = month_label(month)
    return label.split()[0] if month[:4] == this_month[:4] else label


def describe_calendar_box(
    box: CalendarBoxLike, box_name: str, *, this_month: str, now: datetime, tz: ZoneInfo
) -> CalendarLine:
    """Where one paid-for box stands: coming up (with its ship month), shipped, or cancelled."""
    month = month_words(box.ship_month, this_month)
    prefix = f"Box {box.sequence} of {box.term_months} — " if box.term_months > 1 else ""
    shipment = box.shipment

    def line(heading: str, status: str, tone: Tone, detail: str = "") -> CalendarLine:
        return CalendarLine(box_name, box.ship_month, heading, status, tone, detail)

    if box.status is BoxStatus.CANCELLED:
        return line(
            f"{prefix}{month}" if prefix else month,
            "Cancelled — not sent",
            Tone.ENDED,
            "This box won't be sent.",
        )
    if shipment is not None and shipment.status is ShipmentStatus.SHIPPED:
        sent = shipment.shipped_at
        number = shipment.tracking_number
        return CalendarLine(
            box_name,
            box.ship_month,
            f"{prefix}{month}" if prefix else month,
            f"Shipped {short_date(sent, tz, now)}" if sent else "Shipped",
            Tone.OK,
            tracking_text=" ".join(part for part in (shipment.carrier, number) if part),
            tracking_url=tracking_url(shipment.carrier, number) if number else None,
        )
    heading = f"{prefix}ships in {month}" if prefix else f"Ships in {month}"
    if box.status is BoxStatus.HELD:
        return line(
            heading,
            "On hold — we'll be in touch",
            Tone.WARN,
            "Your subscription ended before this box was sent, so we'll check with you first.",
        )
    if shipment is None:
        return line(heading, "Scheduled", Tone.OK)
    if shipment.status is ShipmentStatus.PACKED:
        return line(heading, "Packed — shipping soon", Tone.OK)
    return line(heading, "Being packed", Tone.OK)


def next_box_month(
    last_month: str | None, renews_at: datetime, cutoff_day: int, tz: ZoneInfo
) -> str:
    """The ship month the box of a renewal at `renews_at` gets (the calendar's own rule)."""
    return months_for_period(last_month, renews_at, 1, cutoff_day, tz)[0]


class SkippableLike(Protocol):
    current_period_end: datetime | None
    pause_resumes_at: datetime | None

    @property
    def is_skipping(self) -> bool: ...


def skip_is_pending(subscription: SkippableLike) -> bool:
    """Skipping a renewal that has not come yet (Stripe moves the period on once it has)."""
    end, resumes = subscription.current_period_end, subscription.pause_resumes_at
    if not subscription.is_skipping or end is None:
        return False
    return resumes is None or end < resumes


@dataclass(frozen=True)
class SkipWords:
    """What the account says about skipping a subscription's next box, and which button shows."""

    text: str
    can_skip: bool = False
    skipping: bool = False
    can_undo: bool = False


def describe_skip(
    subscription: SkippableLike,
    refusal: str | None,
    month: str,
    *,
    this_month: str,
    now: datetime,
    tz: ZoneInfo,
) -> SkipWords:
    """The skip offer, the skip under way (undoable until its payment date), or why not."""
    end = subscription.current_period_end
    words = month_words(month, this_month)
    if skip_is_pending(subscription):
        assert end is not None
        return SkipWords(
            f"Skipping {words}'s box — no charge on {short_date(end, tz, now)}",
            skipping=True,
            can_undo=end > now,
        )
    if refusal is None and end is not None:
        return SkipWords(
            f"No charge on {short_date(end, tz, now)}, no box in {words}.", can_skip=True
        )
    return SkipWords(refusal or "")


def skipped_line(
    box_name: str, month: str, renews_at: datetime, *, this_month: str, now: datetime, tz: ZoneInfo
) -> CalendarLine:
    """The box a skipped renewal would have granted, shown where it would have been."""
    return CalendarLine(
        box_name,
        month,
        f"No box in {month_words(month, this_month)}",
        "Skipped — no charge",
        Tone.ENDED,
        f"Nothing is charged on {short_date(renews_at, tz, now)}. Changed your mind? "
        "Undo it under Your subscriptions.",
    )
