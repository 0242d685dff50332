"""Status words, the box calendar in words and Australian dates, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from shop.accounts.presenters import (
    Tone,
    date_range,
    describe_calendar_box,
    describe_skip,
    describe_subscription,
    is_current,
    long_date,
    month_words,
    next_box_month,
    short_date,
    skip_is_pending,
    skipped_line,
)
from shop.billing.models import BoxStatus, ShipmentStatus, SubscriptionStatus

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


THIS_MONTH = "2026-11"


def box(
    ship_month: str = "2027-01",
    *,
    sequence: int = 2,
    term_months: int = 3,
    status: BoxStatus = BoxStatus.SCHEDULED,
    shipment: SimpleNamespace | None = None,
) -> SimpleNamespace:
    return SimpleNamespace(
        ship_month=ship_month,
        sequence=sequence,
        term_months=term_months,
        status=status,
        shipment=shipment,
    )


def shipment(status: ShipmentStatus, **fields: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "status": status,
        "shipped_at": None,
        "carrier": "",
        "tracking_number": "",
    }
    values.update(fields)
    return SimpleNamespace(**values)


def calendar(calendar_box: SimpleNamespace):  # type: ignore[no-untyped-def]
    return describe_calendar_box(
        calendar_box, "Protein MuscleBox", this_month=THIS_MONTH, now=NOW, tz=SYDNEY
    )


def test_months_show_their_year_only_when_it_is_not_this_year():
    assert month_words("2026-12", THIS_MONTH) == "December"
    assert month_words("2027-01", THIS_MONTH) == "January 2027"
    assert month_words("2027-01", "2027-01") == "January"


def test_a_scheduled_box_of_a_term_says_which_box_and_when_it_ships():
    line = calendar(box("2027-01", sequence=2, term_months=3))
    assert (line.box_name, line.heading, line.status, line.tone) == (
        "Protein MuscleBox",
        "Box 2 of 3 — ships in January 2027",
        "Scheduled",
        Tone.OK,
    )
    assert calendar(box("2026-12")).heading == "Box 2 of 3 — ships in December"
    monthly = calendar(box("2026-12", sequence=1, term_months=1))
    assert monthly.heading == "Ships in December", "no 'Box 1 of 1' on a monthly plan"


def test_this_years_january_is_just_january():
    line = describe_calendar_box(
        box("2027-01"), "MuscleBox", this_month="2027-01", now=JAN_3, tz=SYDNEY
    )
    assert line.heading == "Box 2 of 3 — ships in January"


@pytest.mark.parametrize(
    ("calendar_box", "status", "tone"),
    [
        (box(shipment=shipment(ShipmentStatus.TO_PACK)), "Being packed", Tone.OK),
        (box(shipment=shipment(ShipmentStatus.PACKED)), "Packed — shipping soon", Tone.OK),
        (box(status=BoxStatus.HELD), "On hold — we'll be in touch", Tone.WARN),
        (
            box(status=BoxStatus.HELD, shipment=shipment(ShipmentStatus.TO_PACK)),
            "On hold — we'll be in touch",
            Tone.WARN,
        ),
        (box(status=BoxStatus.CANCELLED), "Cancelled — not sent", Tone.ENDED),
    ],
)
def test_where_each_box_stands(calendar_box, status, tone):
    line = calendar(calendar_box)
    assert (line.status, line.tone) == (status, tone)


def test_a_shipped_box_says_when_and_links_its_tracking():
    sent = datetime(2026, 11, 3, 23, 0, tzinfo=UTC)  # 4 Nov in Sydney
    line = calendar(
        box(
            "2026-11",
            sequence=1,
            shipment=shipment(
                ShipmentStatus.SHIPPED,
                shipped_at=sent,
                carrier="Australia Post",
                tracking_number="33AB 123",
            ),
        )
    )
    assert (line.heading, line.status) == ("Box 1 of 3 — November", "Shipped 4 Nov")
    assert line.tracking_text == "Australia Post 33AB 123"
    assert line.tracking_url == "https://auspost.com.au/mypost/track/details/33AB%20123"


def test_tracking_without_a_known_carrier_page_is_shown_unlinked():
    line = calendar(
        box(shipment=shipment(ShipmentStatus.SHIPPED, carrier="Other", tracking_number="X1"))
    )
    assert (line.status, line.tracking_text, line.tracking_url) == ("Shipped", "Other X1", None)
    untracked = calendar(box(shipment=shipment(ShipmentStatus.SHIPPED)))
    assert (untracked.tracking_text, untracked.tracking_url) == ("", None)


def test_the_next_renewals_box_follows_the_calendar_rule():
    # Renewing on 3 Dec (before the 20th's cut-off) after a November box: December.
    assert next_box_month("2026-11", DEC_3, 20, SYDNEY) == "2026-12"
    # A prepaid box already in December: the renewal's box follows on, in January.
    assert next_box_month("2026-12", DEC_3, 20, SYDNEY) == "2027-01"
    # Renewing after the cut-off: the next month.
    late = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    assert next_box_month("2026-11", late, 20, SYDNEY) == "2027-01"
    assert next_box_month(None, DEC_3, 20, SYDNEY) == "2026-12"


def skippable(**fields: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "current_period_end": DEC_3,
        "pause_resumes_at": None,
        "is_skipping": False,
    }
    values.update(fields)
    return SimpleNamespace(**values)


def skip_words(subscription: SimpleNamespace, refusal: str | None = None, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return describe_skip(
        subscription, refusal, "2026-12", this_month=THIS_MONTH, now=now, tz=SYDNEY
    )


def test_a_monthly_subscription_is_offered_a_skip_with_what_it_means():
    words = skip_words(skippable())
    assert words.can_skip and not words.skipping
    assert words.text == "No charge on 3 Dec, no box in December."


def test_a_skip_under_way_says_so_and_can_be_undone_until_the_payment_date():
    subscription = skippable(is_skipping=True, pause_resumes_at=DEC_3 + timedelta(days=1))
    words = skip_words(subscription)
    assert words.text == "Skipping December's box — no charge on 3 Dec"
    assert words.skipping and words.can_undo and not words.can_skip
    assert not skip_words(subscription, now=DEC_3 + timedelta(minutes=1)).can_undo


def test_once_the_skipped_renewal_has_passed_the_skip_is_over():
    # Stripe moved the period on past the pause's end: the next renewal is charged.
    after = skippable(is_skipping=True, pause_resumes_at=DEC_3, current_period_end=JAN_3)
    assert not skip_is_pending(after)
    assert skip_is_pending(skippable(is_skipping=True, pause_resumes_at=JAN_3))
    assert not skip_is_pending(skippable())


def test_a_refused_skip_explains_why():
    words = skip_words(skippable(), refusal="Your 3-month plan is paid in advance.")
    assert words.text == "Your 3-month plan is paid in advance."
    assert not (words.can_skip or words.can_undo or words.skipping)


def test_the_skipped_box_on_the_calendar():
    line = skipped_line("MuscleBox", "2027-01", JAN_3, this_month=THIS_MONTH, now=NOW, tz=SYDNEY)
    assert (line.heading, line.status, line.month) == (
        "No box in January 2027",
        "Skipped — no charge",
        "2027-01",
    )
    assert line.detail.startswith("Nothing is charged on 3 Jan 2027.")
