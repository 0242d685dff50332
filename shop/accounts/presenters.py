"""How the account page and emails put things into words: statuses and Australian dates.

Pure functions of their arguments (no database, no app), so every wording is unit-tested.
Times are stored in UTC and shown in the shop's time zone (SHOP_TIMEZONE, Australia/Sydney).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from shop.billing.models import ShipmentStatus, SubscriptionStatus
from shop.dates import date_range, long_date, short_date

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


SHIPMENT_WORDS: dict[ShipmentStatus, str] = {
    ShipmentStatus.TO_PACK: "Waiting to be packed",
    ShipmentStatus.PACKED: "Packed — shipping soon",
    ShipmentStatus.SHIPPED: "Shipped",
}


def describe_shipment(status: ShipmentStatus) -> str:
    return SHIPMENT_WORDS[status]


COUNTRY_NAMES = {"AU": "Australia", "NZ": "New Zealand"}


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())
