"""The box calendar's rules as pure functions: ship months, the cut-off, follow-on."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shop.billing.calendar import (
    BadMonth,
    add_months,
    cutoff_month,
    months_for_period,
    parse_month,
)
from shop.dates import month_label

SYDNEY = ZoneInfo("Australia/Sydney")


def sydney(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SYDNEY).astimezone(UTC)


@pytest.mark.parametrize(
    ("month", "count", "expected"),
    [("2026-12", 1, "2027-01"), ("2027-01", -1, "2026-12"), ("2026-11", 14, "2028-01")],
)
def test_months_add_across_years(month, count, expected):
    assert add_months(month, count) == expected


def test_paid_on_the_cutoff_day_ships_that_month_and_after_it_the_next():
    assert cutoff_month(sydney(2026, 11, 20, 23, 59), 20, SYDNEY) == "2026-11"
    assert cutoff_month(sydney(2026, 11, 21, 0, 1), 20, SYDNEY) == "2026-12"
    assert cutoff_month(sydney(2026, 12, 25), 20, SYDNEY) == "2027-01"


def test_the_cutoff_is_read_in_the_shops_time_zone_not_utc():
    # 20 Nov 23:30 UTC is already 21 Nov in Sydney: after the cut-off.
    late_utc = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert cutoff_month(late_utc, 20, SYDNEY) == "2026-12"
    assert cutoff_month(late_utc, 20, ZoneInfo("UTC")) == "2026-11"


@pytest.mark.parametrize("term", [1, 3, 6, 12])
def test_a_first_period_grants_one_box_a_month_for_its_term(term):
    months = months_for_period(None, sydney(2026, 11, 30), term, 20, SYDNEY)
    assert months == [add_months("2026-12", offset) for offset in range(term)]


def test_a_renewal_follows_on_from_the_last_box_without_gap_or_overlap():
    # A 3-month term bought 30 Nov ships Dec, Jan, Feb; its renewal on 28 Feb (after the
    # cut-off, so "March") follows on.
    assert months_for_period("2027-02", sydney(2027, 2, 28), 3, 20, SYDNEY) == [
        "2027-03",
        "2027-04",
        "2027-05",
    ]


def test_a_renewal_paid_early_in_the_month_does_not_ship_a_month_twice():
    # Daylight saving can move a renewal from the 21st to the 20th in shop time: the follow-on
    # rule keeps it from landing on the month the previous box already has.
    assert months_for_period("2027-04", sydney(2027, 4, 20, 23, 30), 1, 20, SYDNEY) == ["2027-05"]


def test_a_skipped_month_stays_skipped():
    # Last box November; December's renewal was skipped (voided); January's is paid on 30 Dec.
    assert months_for_period("2026-11", sydney(2026, 12, 30), 1, 20, SYDNEY) == ["2027-01"]


def test_a_late_payment_ships_from_the_next_open_month():
    # The box for a period due on 30 Nov is paid on 25 Dec, after December's cut-off.
    assert months_for_period("2026-11", sydney(2026, 12, 25), 1, 20, SYDNEY) == ["2027-01"]


@pytest.mark.parametrize(
    "raw", ["2026-13", "2026-00", "26-12", "2026-1", "abc", "", None, "1999-12"]
)
def test_malformed_months_are_refused(raw):
    with pytest.raises(BadMonth):
        parse_month(raw)


def test_months_read_in_words():
    assert parse_month(" 2027-01 ") == "2027-01"
    assert month_label("2027-01") == "January 2027"
