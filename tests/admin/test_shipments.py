"""The month's packing list: forecast, shipping run, filters, marking shipped, held boxes."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.accounts.models import Customer
from shop.audit.models import AuditEntry
from shop.billing.calendar import add_months, current_month
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    Shipment,
    ShipmentStatus,
    SubscriptionStatus,
)
from shop.dates import month_label
from shop.db import utcnow
from shop.extensions import db
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_shipment,
    make_subscription,
    many_shipments,
    subscriber,
)
from tests.builders.content import make_box
from tests.helpers import csrf_token, text_of, visible_text
from tests.mail.helpers import sent_emails

MONTH = "2026-12"
PAGE = f"/admin/shipments?month={MONTH}"


def shipment_count() -> int:
    return db.session.scalar(select(func.count(Shipment.id))) or 0


def shipments_state() -> list[tuple[object, ...]]:
    """Everything an admin action could change, to check that a refused one changed nothing."""
    rows = db.session.execute(
        select(
            Shipment.id,
            Shipment.status,
            Shipment.carrier,
            Shipment.tracking_number,
            Shipment.shipped_email_sent_at,
            Shipment.ship_to_line1,
        ).order_by(Shipment.id)
    ).all()
    boxes = db.session.execute(
        select(CalendarBox.id, CalendarBox.status, CalendarBox.decided_at).order_by(CalendarBox.id)
    ).all()
    return [tuple(row) for row in [*rows, *boxes]]


def row_count(response) -> int:  # type: ignore[no-untyped-def]
    return len(re.findall(r'class="ship-row[ "]', response.get_data(as_text=True)))


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    return make_plan(make_box("musclebox", "MuscleBox", position=1), term_months=3)


def run(client: FlaskClient, month: str = MONTH):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/admin/shipments?month={month}")
    return client.post("/admin/shipments/run", data={"month": month, "csrf_token": token})


def mark(client: FlaskClient, ids: list[int], status: str, query: str = "", **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    data = {"ids": [str(i) for i in ids], "status": status, "csrf_token": token, **fields}
    return client.post(f"/admin/shipments/mark?month={MONTH}{query}", data=data)


# -- the forecast and the run ------------------------------------------------------------------


def test_the_page_defaults_to_this_month(admin_client: FlaskClient) -> None:
    page = text_of(admin_client.get("/admin/shipments"))
    assert f'Shipments <span class="ship-h1-month">· {month_label(current_month())}' in page


def test_before_the_run_the_month_is_a_forecast(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    subscriber("Ava Squat", plan, MONTH, sequence=2, line1="1 Harbour St", city="Sydney")
    subscriber("Ben Press", plan, MONTH, line1="9 Mall Rd", city="Perth", state="WA")
    subscriber("Cy Later", plan, "2027-01")
    cancelled = subscriber("Di Gone", plan, MONTH)
    cancelled.status = BoxStatus.CANCELLED
    db.session.commit()

    response = admin_client.get(PAGE)
    page = visible_text(response)
    assert response.status_code == 200
    assert "Forecast for December 2026" in page
    assert "Ava Squat" in page and "1 Harbour St" in page and "box 2 of 3" in page
    assert "Ben Press" in page and "9 Mall Rd" in page
    assert "Cy Later" not in page and "Di Gone" not in page
    assert "Boxes due in December 2026 (2)" in page
    assert "MuscleBox 2" in page  # the count per box
    assert "Run shipping for December 2026" in page
    assert "Run shipping first to export the CSV" in page
    assert "/admin/shipments.csv" not in response.get_data(as_text=True)
    assert shipment_count() == 0


def test_the_run_creates_shipments_addressed_as_at_the_run(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    box = subscriber("Ava Squat", plan, MONTH, line1="1 Old St")
    subscriber("Ben Press", plan, MONTH)
    customer = db.session.get(Customer, box.customer_id)
    customer.shipping_line1 = "77 New Rd"  # she moved after the forecast was printed
    db.session.commit()

    response = run(admin_client)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/shipments?month={MONTH}"
    page = visible_text(admin_client.get(response.headers["Location"]))
    assert "2026-12: 2 new shipment(s), 0 already in the run." in page
    assert "What to pack in December 2026" in page
    assert "Download the packing list (CSV)" in page
    shipment = db.session.scalar(select(Shipment).where(Shipment.calendar_box_id == box.id))
    assert shipment.ship_to_line1 == "77 New Rd"
    assert shipment.status is ShipmentStatus.TO_PACK
    assert "77 New Rd" in page and "1 Old St" not in page
    assert shipment_count() == 2


def test_running_again_changes_nothing(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    subscriber("Ava Squat", plan, MONTH)
    subscriber("Ben Press", plan, MONTH)
    run(admin_client)
    before = shipments_state()
    stamps = db.session.scalars(select(Shipment.updated_at).order_by(Shipment.id)).all()

    response = run(admin_client)
    page = visible_text(admin_client.get(response.headers["Location"]))
    assert "2026-12: 0 new shipment(s), 2 already in the run." in page
    assert "Nothing else changed" in page
    assert shipments_state() == before
    assert db.session.scalars(select(Shipment.updated_at).order_by(Shipment.id)).all() == stamps


def test_a_box_granted_after_the_run_waits_for_a_rerun(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    first = subscriber("Ava Squat", plan, MONTH)
    run(admin_client)
    mark(admin_client, [db.session.scalar(select(Shipment.id))], "packed")
    late = subscriber("Lou Late", plan, MONTH, line1="5 Late Lane")

    page = visible_text(admin_client.get(PAGE))
    assert "1 box due in December 2026 is not in the run yet" in page
    assert "Run again to add them" in page and "5 Late Lane" in page
    assert "MuscleBox 0 1 0 1 2" in page  # to pack, packed, shipped, not in the run, total

    response = run(admin_client)
    page = visible_text(admin_client.get(response.headers["Location"]))
    assert "2026-12: 1 new shipment(s), 1 already in the run." in page
    assert "not in the run yet" not in page
    statuses = dict(db.session.execute(select(Shipment.calendar_box_id, Shipment.status)).all())
    assert statuses == {first.id: ShipmentStatus.PACKED, late.id: ShipmentStatus.TO_PACK}


def test_a_box_without_an_address_is_flagged_and_left_out(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    subscriber("Nora Nowhere", plan, MONTH, line1="", city="", postal_code="", country="")
    assert "the run will leave this box out" in visible_text(admin_client.get(PAGE))
    response = run(admin_client)
    page = visible_text(admin_client.get(response.headers["Location"]))
    assert "1 box(es) have no address we can ship to and were left out" in page
    assert shipment_count() == 0


# -- the list: filters, counts, pages, the address flag ------------------------------------------


def test_filters_by_box_and_status_and_counts_per_box(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    recovery = make_plan(make_box("recovery", "Recovery Box", position=2), term_months=1)
    make_shipment(subscriber("Ava Squat", plan, MONTH))
    make_shipment(subscriber("Ben Press", plan, MONTH), status=ShipmentStatus.PACKED)
    make_shipment(subscriber("Cat Curl", plan, MONTH), status=ShipmentStatus.SHIPPED)
    make_shipment(subscriber("Dan Deadlift", recovery, MONTH))
    make_shipment(subscriber("Eve Elsewhen", plan, "2027-01"))

    page = visible_text(admin_client.get(PAGE))
    assert "MuscleBox 1 1 1 0 3" in page
    assert "Recovery Box 1 0 0 0 1" in page
    assert all(name in page for name in ("Ava Squat", "Ben Press", "Cat Curl", "Dan Deadlift"))
    assert "Eve Elsewhen" not in page

    page = visible_text(admin_client.get(f"{PAGE}&box={recovery.box_id}"))
    assert "Dan Deadlift" in page and "Ava Squat" not in page and "Ben Press" not in page

    page = visible_text(admin_client.get(f"{PAGE}&status=packed"))
    assert "Ben Press" in page
    assert not any(name in page for name in ("Ava Squat", "Cat Curl", "Dan Deadlift"))

    page = visible_text(admin_client.get(f"{PAGE}&status=to_pack&box={plan.box_id}"))
    assert "Ava Squat" in page and "Dan Deadlift" not in page and "Ben Press" not in page


def test_the_list_is_paginated_by_fifty(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    many_shipments(plan, MONTH, 120)
    first = admin_client.get(PAGE)
    assert row_count(first) == 50
    assert "Page 1 of 3" in visible_text(first)
    assert row_count(admin_client.get(f"{PAGE}&page=2")) == 50
    assert row_count(admin_client.get(f"{PAGE}&page=3")) == 20
    beyond = admin_client.get(f"{PAGE}&page=9")
    assert beyond.status_code == 303 and "page=3" in beyond.headers["Location"]
    assert admin_client.get(f"{PAGE}&page=abc").status_code == 404


def test_previous_and_next_month_links_and_month_picker(admin_client: FlaskClient) -> None:
    page = admin_client.get("/admin/shipments?month=2027-01").get_data(as_text=True)
    assert 'href="/admin/shipments?month=2026-12"' in page
    assert 'href="/admin/shipments?month=2027-02"' in page
    assert re.search(r'<form method="get"[^>]*>', page)
    assert '<input type="month" id="month" name="month" value="2027-01"' in page


def test_an_address_changed_after_the_run_is_flagged(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    moved = make_shipment(subscriber("Ava Squat", plan, MONTH))
    make_shipment(subscriber("Ben Press", plan, MONTH))
    moved.address_changed_at = utcnow()
    db.session.commit()
    page = visible_text(admin_client.get(PAGE))
    assert page.count("Address changed after the run — reprint the label") == 1


def test_the_admin_bar_counts_shipments_to_pack(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    make_shipment(subscriber("Ava Squat", plan, MONTH))
    make_shipment(subscriber("Ben Press", plan, MONTH), status=ShipmentStatus.SHIPPED)
    page = visible_text(admin_client.get("/admin/"))
    assert "Shipments ( 1 to pack)" in page


# -- marking packed and shipped ------------------------------------------------------------------


def test_bulk_mark_packed_then_shipped_with_carrier_and_tracking(
    admin_client: FlaskClient, plan
) -> None:  # type: ignore[no-untyped-def]
    a = make_shipment(subscriber("Ava Squat", plan, MONTH))
    b = make_shipment(subscriber("Ben Press", plan, MONTH))
    c = make_shipment(subscriber("Cat Curl", plan, MONTH))

    response = mark(admin_client, [a.id, b.id], "packed", "&status=to_pack")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/shipments?month={MONTH}&status=to_pack"
    assert "2 shipments marked packed." in visible_text(
        admin_client.get(response.headers["Location"])
    )
    statuses = dict(db.session.execute(select(Shipment.id, Shipment.status)).all())
    assert statuses == {a.id: "packed", b.id: "packed", c.id: "to_pack"}

    mark(
        admin_client,
        [a.id, b.id],
        "shipped",
        carrier="Australia Post",
        tracking_number="  AP123 ",
    )
    for shipment_id in (a.id, b.id):
        shipment = db.session.get(Shipment, shipment_id)
        assert shipment.status is ShipmentStatus.SHIPPED
        assert shipment.carrier == "Australia Post" and shipment.tracking_number == "AP123"
        assert shipment.shipped_at is not None
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert 'href="https://auspost.com.au/mypost/track/details/AP123"' in page


def test_one_row_action_marks_just_that_shipment(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    a = make_shipment(subscriber("Ava Squat", plan, MONTH))
    b = make_shipment(subscriber("Ben Press", plan, MONTH))
    response = mark(admin_client, [b.id], "shipped")
    assert "1 shipment marked shipped. 1 customer will be emailed" in visible_text(
        admin_client.get(response.headers["Location"])
    )
    assert db.session.get(Shipment, a.id).status is ShipmentStatus.TO_PACK
    assert db.session.get(Shipment, b.id).status is ShipmentStatus.SHIPPED


def test_shipped_email_is_sent_once_with_the_tracking_link(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH, sequence=2, line1="1 Harbour St"))
    email = db.session.get(Customer, shipment.customer_id).email

    mark(admin_client, [shipment.id], "shipped", carrier="Sendle", tracking_number="SND 42")
    mark(admin_client, [shipment.id], "shipped", carrier="Sendle", tracking_number="SND 42")
    mark(admin_client, [shipment.id], "packed")
    mark(admin_client, [shipment.id], "shipped")

    messages = sent_emails(email)
    assert len(messages) == 1
    message = messages[0]
    assert message.subject == "Your MuscleBox is on its way"
    link = "https://track.sendle.com/tracking?ref=SND%2042"
    assert link in message.text_body and "SND 42" in message.text_body
    assert f'href="{link}"' in message.html_body
    assert "box 2 of 3" in message.text_body and "1 Harbour St" in message.text_body
    assert "http://shop.test/account/" in message.text_body


def test_shipped_email_without_tracking_has_no_tracking_link(
    admin_client: FlaskClient, plan
) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    mark(admin_client, [shipment.id], "shipped")
    (message,) = sent_emails(db.session.get(Customer, shipment.customer_id).email)
    assert (
        "Tracking number" not in message.text_body and "Track your parcel" not in message.html_body
    )


def test_ticking_nothing_changes_nothing(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    make_shipment(subscriber("Ava Squat", plan, MONTH))
    before = shipments_state()
    response = mark(admin_client, [], "packed")
    assert response.status_code == 303
    assert "Tick at least one shipment first" in visible_text(
        admin_client.get(response.headers["Location"])
    )
    assert shipments_state() == before


# -- held boxes ---------------------------------------------------------------------------------


def held_box(name: str, plan, month: str = "2026-11") -> CalendarBox:  # type: ignore[no-untyped-def]
    customer = make_customer(f"{name.split()[0].lower()}@example.com", name=name)
    subscription = make_subscription(
        customer, plan, status=SubscriptionStatus.CANCELED, ended_at=utcnow()
    )
    return make_calendar_box(subscription, month, status=BoxStatus.HELD)


def test_held_boxes_are_listed_for_every_month(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    held_box("Hal Held", plan, "2026-11")
    held_box("Hana Hold", plan, "2027-03")
    page = visible_text(admin_client.get(PAGE))
    assert "Held boxes (2)" in page
    assert "Hal Held" in page and "ships in November 2026" in page
    assert "Hana Hold" in page and "ships in March 2027" in page
    assert "Subscription canceled, ended" in page
    assert "Send it" in page and "Cancel it" in page


def test_send_a_held_box(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    box = held_box("Hal Held", plan, MONTH)
    token = csrf_token(admin_client, PAGE)
    response = admin_client.post(
        f"/admin/held-boxes/{box.id}?month={MONTH}", data={"decision": "send", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    page = visible_text(admin_client.get(PAGE))
    assert "Hal Held's MuscleBox (December 2026) will be sent" in page
    assert "Held boxes (0)" in page
    box = db.session.get(CalendarBox, box.id)
    assert box.status is BoxStatus.SCHEDULED and box.decided_at is not None
    run(admin_client)
    assert shipment_count() == 1


def test_cancel_a_held_box(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    box = held_box("Hal Held", plan)
    token = csrf_token(admin_client, PAGE)
    response = admin_client.post(
        f"/admin/held-boxes/{box.id}", data={"decision": "cancel", "csrf_token": token}
    )
    assert response.status_code == 303
    assert "is cancelled; it won't be shipped" in visible_text(
        admin_client.get(response.headers["Location"])
    )
    assert db.session.get(CalendarBox, box.id).status is BoxStatus.CANCELLED


# -- bad input: a clear 4xx, nothing changed ----------------------------------------------------


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-1", "1999-12", "2026-12-01"])
@pytest.mark.parametrize("path", ["/admin/shipments", "/admin/shipments.csv"])
def test_a_malformed_month_is_a_400_saying_how_a_month_looks(
    admin_client: FlaskClient, path: str, month: str
) -> None:
    response = admin_client.get(f"{path}?month={month}")
    assert response.status_code == 400
    assert "A month looks like 2026-12" in text_of(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("box=abc", "That isn't a box we sell"),
        ("box=999", "That isn't a box we sell"),
        ("status=lost", "to_pack, packed or shipped"),
    ],
)
def test_bad_filters_are_a_400(admin_client: FlaskClient, plan, query: str, message: str) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get(f"{PAGE}&{query}")
    assert response.status_code == 400
    assert message in text_of(response)


def test_marking_an_unknown_shipment_changes_nothing(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    before = shipments_state()
    response = mark(admin_client, [shipment.id, 999_999], "shipped", tracking_number="X1")
    assert response.status_code == 404
    assert "Nothing was changed" in text_of(response)
    assert shipments_state() == before
    assert sent_emails() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "lost"},
        {"status": ""},
        {"status": "shipped", "carrier": "Pigeon Post"},
        {"status": "shipped", "ids": "abc"},
        {"status": "shipped", "ids": "99999999999"},
    ],
)
def test_bad_mark_requests_are_a_400(
    admin_client: FlaskClient, plan, fields: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    before = shipments_state()
    token = csrf_token(admin_client, PAGE)
    data = {"ids": str(shipment.id), "csrf_token": token, **fields}
    response = admin_client.post(f"/admin/shipments/mark?month={MONTH}", data=data)
    assert response.status_code == 400
    assert shipments_state() == before


def test_a_too_long_tracking_number_is_a_form_error(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    before = shipments_state()
    response = mark(admin_client, [shipment.id], "shipped", tracking_number="9" * 101)
    assert response.status_code == 400
    page = text_of(response)
    assert "A tracking number is at most 100 characters." in page
    assert 'aria-invalid="true"' in page and "9" * 101 in page  # kept what was typed
    assert re.search(rf'id="tick-{shipment.id}" checked', page)
    assert shipments_state() == before
    assert sent_emails() == []


def test_a_tracking_number_without_shipping_is_a_form_error(
    admin_client: FlaskClient, plan
) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    response = mark(admin_client, [shipment.id], "packed", tracking_number="AP1")
    assert response.status_code == 400
    assert "A tracking number goes with “Mark shipped”." in text_of(response)
    assert db.session.get(Shipment, shipment.id).status is ShipmentStatus.TO_PACK


def test_bad_held_box_decisions(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    held = held_box("Hal Held", plan)
    scheduled = subscriber("Ava Squat", plan, MONTH)
    before = shipments_state()
    token = csrf_token(admin_client, PAGE)

    for unknown_id in ("999999", "99999999999999999999", "-1", "abc"):
        unknown = admin_client.post(
            f"/admin/held-boxes/{unknown_id}", data={"decision": "send", "csrf_token": token}
        )
        assert unknown.status_code == 404, unknown_id
    not_held = admin_client.post(
        f"/admin/held-boxes/{scheduled.id}",
        data={"decision": "cancel", "csrf_token": token},
        follow_redirects=True,
    )
    assert not_held.status_code == 200, "a double click gets the page back, not an error"
    assert "That box isn't waiting for a decision. Nothing was changed." in text_of(not_held)
    maybe = admin_client.post(
        f"/admin/held-boxes/{held.id}", data={"decision": "maybe", "csrf_token": token}
    )
    assert maybe.status_code == 400
    bad_month = admin_client.post(
        f"/admin/held-boxes/{held.id}?month=2026-13", data={"decision": "send", "csrf_token": token}
    )
    assert bad_month.status_code == 400
    assert shipments_state() == before


@pytest.mark.parametrize("month", ["2026-13", "abc", ""])
def test_running_a_malformed_month_is_a_400(admin_client: FlaskClient, plan, month: str) -> None:  # type: ignore[no-untyped-def]
    subscriber("Ava Squat", plan, MONTH)
    token = csrf_token(admin_client, PAGE)
    response = admin_client.post("/admin/shipments/run", data={"month": month, "csrf_token": token})
    assert response.status_code == 400
    assert "A month looks like 2026-12" in text_of(response)
    assert shipment_count() == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/shipments/run", {"month": MONTH}),
        ("/admin/shipments/mark", {"ids": "{shipment}", "status": "shipped"}),
        ("/admin/held-boxes/{held}", {"decision": "cancel"}),
    ],
)
def test_shipping_actions_without_csrf_token_are_refused(
    admin_client: FlaskClient,
    plan,
    path: str,
    data: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    subscriber("Ben Press", plan, MONTH)
    held = held_box("Hal Held", plan)
    before = shipments_state()
    ids = {"shipment": shipment.id, "held": held.id}
    filled = {key: value.format(**ids) for key, value in data.items()}
    response = admin_client.post(path.format(**ids), data=filled)
    assert response.status_code == 400
    assert shipments_state() == before
    assert sent_emails() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/admin/shipments?month={MONTH}"),
        ("GET", f"/admin/shipments.csv?month={MONTH}"),
        ("POST", "/admin/shipments/run"),
        ("POST", "/admin/shipments/mark"),
        ("POST", "/admin/held-boxes/1"),
    ],
)
def test_shipping_pages_are_for_admins_only(client: FlaskClient, method: str, path: str) -> None:
    token = csrf_token(client, "/admin/login")
    response = client.open(path, method=method, data={"month": MONTH, "csrf_token": token})
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/admin/login")


def test_a_month_beyond_next_cannot_be_run_yet(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    """A run freezes today's addresses: months after next are refused, with no run recorded."""
    later = add_months(current_month(), 2)
    subscriber("Ava Squat", plan, later)
    page = visible_text(admin_client.get(f"/admin/shipments?month={later}"))
    assert f"Run shipping for {month_label(later)}" not in page
    assert f"You can run {month_label(later)} from" in page
    response = run(admin_client, later)
    assert response.status_code == 303
    assert "can't be run yet" in visible_text(admin_client.get(response.headers["Location"]))
    assert shipment_count() == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0
    next_month = add_months(current_month(), 1)
    assert run(admin_client, next_month).status_code == 303
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


@pytest.mark.parametrize(
    "typed",
    [
        "https://auspost.com.au/mypost/track/details/AP1",
        "<script>alert(1)</script>",
        "AP 1/2",
        "-AP1",
    ],
)
def test_a_tracking_number_must_look_like_one(admin_client: FlaskClient, plan, typed: str) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber("Ava Squat", plan, MONTH))
    before = shipments_state()
    response = mark(admin_client, [shipment.id], "shipped", tracking_number=typed)
    assert response.status_code == 400
    assert "Paste the number, not the tracking link." in text_of(response)
    assert shipments_state() == before
    assert sent_emails() == []
