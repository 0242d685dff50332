"""Every paid month ships a box: the calendar through the real stripe library and the emulator,
with the clock moved on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.billing.gateway import gateway
from shop.billing.models import Subscription, SubscriptionStatus
from shop.billing.subscriptions import open_billing_portal
from shop.extensions import db
from tests.billing.calendar_helpers import calendar, months, move_to_day, ship_months
from tests.billing.conftest import GOOD_CARD, LATER_FAILS_CARD, buy, card_form, deliver, hosted_path

TERMS = {1: 14, 3: 15, 6: 18, 12: 24}  # boxes granted by 13 months of renewals, per term


def subscription() -> Subscription:
    found = db.session.scalars(select(Subscription)).all()
    assert len(found) == 1, found
    return found[0]


def advance_months(stripe_emulator, client, count: int) -> None:
    for _ in range(count):
        stripe_emulator.advance(days=31)
        deliveries = deliver(stripe_emulator, client)
        assert all(status == 200 for _, status in deliveries), deliveries


@pytest.mark.parametrize("term", sorted(TERMS))
def test_thirteen_months_of_each_term_ship_exactly_one_box_a_month(
    app, client, pages, stripe_emulator, catalogue, term
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "protein-musclebox", term)
    deliver(stripe_emulator, client)
    assert ship_months() == months(first, term), "the first period's boxes, from this month"

    advance_months(stripe_emulator, client, 13)

    rows = calendar()
    assert [row[0] for row in rows] == months(first, TERMS[term]), "one a month, no gap"
    assert {row[1] for row in rows} == {"Protein MuscleBox"}
    assert [(row[2], row[3]) for row in rows] == [
        (n, term) for _ in range(TERMS[term] // term) for n in range(1, term + 1)
    ]
    assert all(row[4] == "scheduled" for row in rows)
    assert subscription().status is SubscriptionStatus.ACTIVE


@pytest.mark.parametrize(("day", "shift"), [(20, 0), (21, 1)])
def test_the_cutoff_day_decides_the_first_box(
    app, client, pages, stripe_emulator, catalogue, day, shift
):
    month = move_to_day(stripe_emulator, day, hour=23)
    buy(client, pages, stripe_emulator, "musclebox", 3)
    deliver(stripe_emulator, client)
    assert ship_months() == months(months(month, shift + 1)[-1], 3)


def test_cancelling_at_period_end_keeps_every_box_paid_for(
    app, client, pages, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "miss-musclebox", 3)
    deliver(stripe_emulator, client)
    gateway().update_subscription(
        subscription().stripe_subscription_id, {"cancel_at_period_end": True}
    )
    advance_months(stripe_emulator, client, 4)
    assert subscription().status is SubscriptionStatus.CANCELED
    assert calendar() == [
        (m, "Miss MuscleBox", n, 3, "scheduled") for n, m in enumerate(months(first, 3), 1)
    ]


def test_cancelling_at_once_holds_the_paid_unshipped_boxes_and_grants_no_more(
    app, client, pages, runner, stripe_emulator, catalogue, admin_client
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 12)
    deliver(stripe_emulator, client)
    assert runner.invoke(args=["shipping-run", "--month", first]).exit_code == 0
    stripe_emulator.client().v1.subscriptions.cancel(subscription().stripe_subscription_id)
    deliver(stripe_emulator, client)
    advance_months(stripe_emulator, client, 13)

    assert subscription().status is SubscriptionStatus.CANCELED
    rows = calendar()
    assert len(rows) == 12, "no box for months it did not pay for"
    assert rows[0][0] == first and rows[0][4] == "held", "in the run, not shipped: held too"
    assert [row[4] for row in rows[1:]] == ["held"] * 11
    page = admin_client.get(f"/admin/shipments?month={first}").get_data(as_text=True)
    assert "held" in page.lower()


def test_shipped_boxes_are_not_held_when_a_subscription_ends_early(
    app, client, pages, runner, stripe_emulator, catalogue
):
    from shop.billing.models import Shipment, ShipmentStatus
    from shop.billing.shipping import mark_shipments

    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 3)
    deliver(stripe_emulator, client)
    runner.invoke(args=["shipping-run", "--month", first])
    mark_shipments(db.session.scalars(select(Shipment.id)).all(), ShipmentStatus.SHIPPED)
    stripe_emulator.client().v1.subscriptions.cancel(subscription().stripe_subscription_id)
    deliver(stripe_emulator, client)
    assert [row[4] for row in calendar()] == ["scheduled", "held", "held"]


def test_a_failed_renewal_grants_nothing_until_it_is_paid_late(
    app, client, pages, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 1)
    buy(client, pages, stripe_emulator, "musclebox", 1, card=LATER_FAILS_CARD)
    deliver(stripe_emulator, client)
    assert ship_months() == [first]

    stripe_emulator.advance(days=31)  # the renewal on the 1st fails
    deliver(stripe_emulator, client)
    assert subscription().status is SubscriptionStatus.PAST_DUE
    assert ship_months() == [first], "an unpaid period grants no box"

    # Days later the customer fixes the card in the portal and the open invoice is paid.
    stripe_emulator.advance(days=2)
    pay_open_invoices_with_a_good_card(stripe_emulator, pages)
    deliver(stripe_emulator, client)
    assert subscription().status is SubscriptionStatus.ACTIVE
    assert ship_months() == months(first, 2), "paid on the 3rd: ships that month"


def pay_open_invoices_with_a_good_card(stripe_emulator, pages) -> None:
    """The customer enters a working card in the billing portal; Stripe retries at once."""
    url = open_billing_portal(subscription().customer, "http://shop.test/account/", None)
    path = hosted_path(url, stripe_emulator)
    response = pages.post(f"{path}/card", data=card_form(GOOD_CARD))
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)


def test_a_plan_switch_mid_term_never_ships_a_month_twice_or_skips_one(
    app, client, pages, stripe_emulator, catalogue
):
    from shop.catalog.models import Plan

    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "protein-musclebox", 3)
    deliver(stripe_emulator, client)
    advance_months(stripe_emulator, client, 1)

    monthly_musclebox = db.session.scalar(select(Plan).where(Plan.lookup_key == "musclebox-1m"))
    stripe_client = stripe_emulator.client()
    sub = stripe_client.v1.subscriptions.retrieve(subscription().stripe_subscription_id)
    stripe_client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": monthly_musclebox.stripe_price_id}]
        },
    )
    deliver(stripe_emulator, client)
    assert subscription().plan_id == monthly_musclebox.id
    assert [row[1] for row in calendar()] == ["Protein MuscleBox"] * 3, "granted boxes keep theirs"

    advance_months(stripe_emulator, client, 4)  # renewals at +3 (the new plan), +4 and +5
    rows = calendar()
    assert [row[0] for row in rows] == months(first, 6)
    assert [row[1] for row in rows] == ["Protein MuscleBox"] * 3 + ["MuscleBox"] * 3
    assert [(row[2], row[3]) for row in rows[3:]] == [(1, 1)] * 3


def test_the_success_page_and_the_confirmation_show_the_boxes_paid_for(
    app, client, pages, stripe_emulator, catalogue
):
    from shop.dates import month_label
    from tests.helpers import visible_text
    from tests.mail.helpers import sent_emails

    first = move_to_day(stripe_emulator, 10)
    success = buy(client, pages, stripe_emulator, "protein-musclebox", 3)
    page = visible_text(client.get(success))  # before any webhook has arrived
    labels = [month_label(m) for m in months(first, 3)]
    assert f"You've paid for 3 boxes, one a month: {', '.join(labels)}." in page
    assert "after the 20th" in page
    deliver(stripe_emulator, client)
    assert len(calendar()) == 3, "the webhooks that follow change nothing"
    confirmation = [m for m in sent_emails(to="bea@example.com") if "subscribed" in m.subject]
    assert len(confirmation) == 1
    assert ", ".join(labels) in confirmation[0].text_body


def test_switching_box_in_the_billing_portal_changes_the_box_from_the_next_paid_month(
    app, client, pages, stripe_emulator, catalogue
):
    from shop.catalog.models import Plan

    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    current = subscription()
    miss = db.session.scalar(select(Plan).where(Plan.lookup_key == "miss-musclebox-1m"))
    portal = hosted_path(
        open_billing_portal(current.customer, "http://shop.test/account/", current.id),
        stripe_emulator,
    )
    switched = pages.post(
        f"{portal}/subscriptions/{current.stripe_subscription_id}/switch",
        data={"price": miss.stripe_price_id},
    )
    assert switched.status_code in (302, 303), switched.get_data(as_text=True)
    deliver(stripe_emulator, client)
    assert subscription().plan_id == miss.id
    advance_months(stripe_emulator, client, 2)
    assert [(row[0], row[1]) for row in calendar()] == list(
        zip(months(first, 3), ["MuscleBox", "Miss MuscleBox", "Miss MuscleBox"], strict=True)
    )
