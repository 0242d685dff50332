"""The box calendar on the account page: boxes to come, boxes sent, held and skipped ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from shop.billing.models import BoxStatus, ShipmentStatus, SubscriptionStatus
from shop.extensions import db
from tests.accounts.conftest import sign_in
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_shipment,
    make_subscription,
)
from tests.builders.content import make_box
from tests.helpers import text_of, visible_text

# 4 pm on 24 November 2026 in Sydney; the next renewal is on 3 December (Sydney).
NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
DEC_3 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def at_now(monkeypatch):  # type: ignore[no-untyped-def]
    """The account page sees NOW (signing in keeps the real clock: links expire by it)."""
    monkeypatch.setattr("shop.accounts.views.utcnow", lambda: NOW)


def page_of(app, customer, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    sign_in(client, customer)
    monkeypatch.setattr("shop.accounts.views.utcnow", lambda: NOW)
    response = client.get("/account/")
    assert response.status_code == 200
    return response


def between(page: str, start: str, end: str | None = None) -> str:
    part = page[page.index(start) :]
    return part[: part.index(end)] if end else part


def test_a_prepaid_term_is_shown_box_by_box(app, customer, monkeypatch):
    plan = make_plan(make_box("protein-musclebox", "Protein MuscleBox"), term_months=3)
    subscription = make_subscription(customer, plan, current_period_end=DEC_3 + timedelta(60))
    first = make_calendar_box(subscription, "2026-10", sequence=1)
    make_shipment(
        first,
        status=ShipmentStatus.SHIPPED,
        carrier="Australia Post",
        tracking_number="33AB123",
        shipped_at=datetime(2026, 10, 14, 1, 0, tzinfo=UTC),
    )
    make_shipment(make_calendar_box(subscription, "2026-11", sequence=2))
    make_calendar_box(subscription, "2026-12", sequence=3)
    make_calendar_box(subscription, "2027-01", sequence=1)

    response = page_of(app, customer, monkeypatch)
    page = visible_text(response)

    coming_up = between(page, "Coming up", "Past boxes")
    assert (
        "Protein MuscleBox Box 2 of 3 — ships in November Being packed "
        "Protein MuscleBox Box 3 of 3 — ships in December Scheduled "
        "Protein MuscleBox Box 1 of 3 — ships in January 2027 Scheduled"
    ) in coming_up
    past = between(page, "Past boxes")
    assert (
        "Protein MuscleBox Box 1 of 3 — October Shipped 14 Oct Tracking: Australia Post 33AB123"
    ) in past
    assert "Box 1 of 3 — October" not in coming_up
    assert 'href="https://auspost.com.au/mypost/track/details/33AB123"' in text_of(response)


def test_a_packed_box_and_a_box_with_unlinked_tracking(app, customer, monkeypatch):
    subscription = make_subscription(customer, make_plan(make_box("musclebox", "MuscleBox")))
    make_shipment(
        make_calendar_box(subscription, "2026-10"),
        status=ShipmentStatus.SHIPPED,
        carrier="Other",
        tracking_number="PARCEL-9",
    )
    make_shipment(make_calendar_box(subscription, "2026-11"), status=ShipmentStatus.PACKED)

    response = page_of(app, customer, monkeypatch)
    page = visible_text(response)

    assert "MuscleBox Ships in November Packed — shipping soon" in page
    assert "Tracking: Other PARCEL-9" in page
    assert "PARCEL-9</a>" not in text_of(response), "no tracking page known: no link"


def test_held_and_cancelled_boxes_are_shown_honestly(app, customer, monkeypatch):
    plan = make_plan(make_box("musclebox", "MuscleBox"), term_months=3)
    subscription = make_subscription(
        customer, plan, status=SubscriptionStatus.CANCELED, ended_at=NOW - timedelta(days=2)
    )
    make_shipment(make_calendar_box(subscription, "2026-11", sequence=1), status="shipped")
    make_calendar_box(subscription, "2026-12", sequence=2, status=BoxStatus.HELD)
    make_calendar_box(subscription, "2027-01", sequence=3, status=BoxStatus.CANCELLED)

    page = visible_text(page_of(app, customer, monkeypatch))

    coming_up = between(page, "Coming up", "Past boxes")
    assert "MuscleBox Box 2 of 3 — ships in December On hold — we'll be in touch" in coming_up
    assert "January" not in coming_up
    past = between(page, "Past boxes")
    assert "MuscleBox Box 3 of 3 — January 2027 Cancelled — not sent" in past


def test_a_skipped_box_shows_where_it_would_have_been(app, customer, monkeypatch):
    plan = make_plan(make_box("miss-musclebox", "Miss MuscleBox"))
    subscription = make_subscription(customer, plan, current_period_end=DEC_3, skipping=True)
    make_calendar_box(subscription, "2026-11")

    response = page_of(app, customer, monkeypatch)
    page = visible_text(response)

    assert "Miss MuscleBox Ships in November Scheduled" in page
    assert "Miss MuscleBox No box in December Skipped — no charge" in page
    assert "Skipping December's box — no charge on 3 Dec Undo" in page
    assert f'action="/account/subscriptions/{subscription.id}/skip/undo"' in text_of(response)
    assert "Skip next month's box" not in page


def test_a_monthly_subscription_offers_to_skip_its_next_box(app, customer, monkeypatch):
    plan = make_plan(make_box("musclebox", "MuscleBox"))
    subscription = make_subscription(customer, plan, current_period_end=DEC_3)
    make_calendar_box(subscription, "2026-11")

    response = page_of(app, customer, monkeypatch)

    assert "Skip next month's box No charge on 3 Dec, no box in December." in visible_text(response)
    assert f'action="/account/subscriptions/{subscription.id}/skip"' in text_of(response)


def test_a_prepaid_term_explains_why_it_cannot_skip(app, customer, monkeypatch):
    plan = make_plan(make_box("musclebox", "MuscleBox"), term_months=6)
    make_subscription(customer, plan, current_period_end=DEC_3)

    page = visible_text(page_of(app, customer, monkeypatch))

    assert "Your 6-month plan is paid in advance, and every month of it ships a box" in page
    assert "Skip next month's box" not in page


def test_past_and_failing_subscriptions_are_not_offered_a_skip(app, customer, monkeypatch):
    make_subscription(customer, status=SubscriptionStatus.PAST_DUE, current_period_end=DEC_3)
    make_subscription(customer, status=SubscriptionStatus.CANCELED, ended_at=NOW)

    page = visible_text(page_of(app, customer, monkeypatch))

    assert "Skip next month's box" not in page
    assert "can skip a box" not in page


def test_every_subscription_has_its_own_manage_billing_button(app, customer, monkeypatch):
    first = make_subscription(customer, make_plan(make_box("musclebox", "MuscleBox")))
    second = make_subscription(
        customer,
        make_plan(make_box("protein-musclebox", "Protein MuscleBox")),
        stripe_customer_id="cus_bought_signed_out",
    )

    body = text_of(page_of(app, customer, monkeypatch))

    for subscription in (first, second):
        assert f'name="subscription_id" value="{subscription.id}"' in body
    assert 'aria-label="Manage billing for Protein MuscleBox, monthly"' in body


def count_statements(app, client) -> int:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/account/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_page_runs_a_fixed_number_of_queries_whatever_the_boxes(app, monkeypatch):
    def account_with(subscriptions: int, email: str) -> int:
        customer = make_customer(email)
        for n in range(subscriptions):
            plan = make_plan(make_box(f"box-{email}-{n}", f"Box {n}"), term_months=3)
            subscription = make_subscription(customer, plan, skipping=n == 0)
            for sequence, month in enumerate(("2026-10", "2026-11", "2026-12"), start=1):
                box = make_calendar_box(subscription, month, sequence=sequence)
                if month == "2026-10":
                    make_shipment(box, status=ShipmentStatus.SHIPPED, carrier="Sendle")
                elif month == "2026-11":
                    make_shipment(box)
        client = app.test_client()
        sign_in(client, customer)
        monkeypatch.setattr("shop.accounts.views.utcnow", lambda: NOW)
        count = count_statements(app, client)
        monkeypatch.undo()
        return count

    assert account_with(1, "one@example.com") == account_with(5, "five@example.com")


def test_only_the_latest_past_boxes_are_listed(app, customer, monkeypatch):
    subscription = make_subscription(customer, make_plan(make_box("musclebox", "MuscleBox")))
    for index in range(26):
        month = f"{2024 + index // 12}-{index % 12 + 1:02d}"
        make_shipment(make_calendar_box(subscription, month), status=ShipmentStatus.SHIPPED)

    page = visible_text(page_of(app, customer, monkeypatch))

    assert "MuscleBox February Shipped" in page, "this year's months go without the year"
    assert "MuscleBox March 2024" in page, "the 24th newest"
    assert "February 2024" not in page and "January 2024" not in page
