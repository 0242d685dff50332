"""Status words and Australian dates, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from shop.accounts.presenters import (
    Tone,
    date_range,
    describe_shipment,
    describe_subscription,
    is_current,
    long_date,
    short_date,
)
from shop.billing.models import ShipmentStatus, SubscriptionStatus

SYDNEY = ZoneInfo("Australia/Sydney")
NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
# 14:00 UTC on 2 January is 1 am on 3 January in Sydney (UTC+11 in summer).
JAN_3 = datetime(2027, 1, 2, 14, 0, tzinfo=UTC)
DEC_3 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def subscription(status: SubscriptionStatus, **fields: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "status": status,
        "current_period_end": JAN_3,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "ended_at": None,
    }
    values.update(fields)
    return SimpleNamespace(**values)


def words(status: SubscriptionStatus, **fields: object):  # type: ignore[no-untyped-def]
    return describe_subscription(subscription(status, **fields), now=NOW, tz=SYDNEY)


def test_dates_are_shown_in_sydney_in_australian_order():
    assert short_date(DEC_3, SYDNEY, NOW) == "3 Dec"
    assert short_date(JAN_3, SYDNEY, NOW) == "3 Jan 2027", "another year says so"
    assert long_date(JAN_3, SYDNEY) == "3 January 2027"
    winter = datetime(2026, 7, 2, 14, 30, tzinfo=UTC)  # UTC+10 in winter: 3 July, 00:30
    assert long_date(winter, SYDNEY) == "3 July 2026"
    assert long_date(datetime(2026, 7, 2, 13, 30, tzinfo=UTC), SYDNEY) == "2 July 2026"


def test_date_ranges():
    start = datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    assert date_range(start, datetime(2026, 11, 30, 13, 0, tzinfo=UTC), SYDNEY) == (
        "1 Nov – 1 Dec 2026"
    )
    assert date_range(DEC_3, JAN_3, SYDNEY) == "3 Dec 2026 – 3 Jan 2027"
    assert date_range(None, JAN_3, SYDNEY) == "3 January 2027"
    assert date_range(None, None, SYDNEY) == ""


@pytest.mark.parametrize(
    ("status", "fields", "text", "tone", "needs_card"),
    [
        (SubscriptionStatus.ACTIVE, {}, "Active — renews 3 Jan 2027", Tone.OK, False),
        (
            SubscriptionStatus.ACTIVE,
            {"current_period_end": DEC_3},
            "Active — renews 3 Dec",
            Tone.OK,
            False,
        ),
        (SubscriptionStatus.ACTIVE, {"current_period_end": None}, "Active", Tone.OK, False),
        (SubscriptionStatus.TRIALING, {}, "Free trial — first payment 3 Jan 2027", Tone.OK, False),
        (
            SubscriptionStatus.ACTIVE,
            {"cancel_at_period_end": True},
            "Cancels on 3 Jan 2027",
            Tone.WARN,
            False,
        ),
        (SubscriptionStatus.ACTIVE, {"cancel_at": DEC_3}, "Cancels on 3 Dec", Tone.WARN, False),
        (SubscriptionStatus.TRIALING, {"cancel_at": DEC_3}, "Cancels on 3 Dec", Tone.WARN, False),
        (SubscriptionStatus.PAST_DUE, {}, "Payment failed — update your card", Tone.ALERT, True),
        (SubscriptionStatus.UNPAID, {}, "Payment failed — update your card", Tone.ALERT, True),
        (SubscriptionStatus.PAUSED, {}, "Paused — add a card to restart", Tone.WARN, True),
        (SubscriptionStatus.INCOMPLETE, {}, "Waiting for your first payment", Tone.WARN, False),
        (
            SubscriptionStatus.INCOMPLETE_EXPIRED,
            {},
            "Not started — the first payment didn't go through",
            Tone.ENDED,
            False,
        ),
        (SubscriptionStatus.CANCELED, {}, "Cancelled", Tone.ENDED, False),
    ],
)
def test_every_status_has_words(status, fields, text, tone, needs_card):
    result = words(status, **fields)
    assert (result.text, result.tone, result.needs_card) == (text, tone, needs_card)


def test_cancelled_says_when_it_ended():
    assert words(SubscriptionStatus.CANCELED, ended_at=JAN_3).detail == "Ended on 3 January 2027."
    assert words(SubscriptionStatus.CANCELED).detail == ""


def test_every_status_is_covered():
    for status in SubscriptionStatus:
        assert words(status).text


def test_current_means_not_over():
    assert is_current(subscription(SubscriptionStatus.PAST_DUE))
    assert is_current(subscription(SubscriptionStatus.PAUSED))
    assert not is_current(subscription(SubscriptionStatus.CANCELED))
    assert not is_current(subscription(SubscriptionStatus.INCOMPLETE_EXPIRED))


def test_shipment_words():
    assert [describe_shipment(status) for status in ShipmentStatus] == [
        "Waiting to be packed",
        "Packed — shipping soon",
        "Shipped",
    ]
