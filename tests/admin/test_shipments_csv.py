"""The packing list as CSV: columns, escaping, a month not yet run, a big month streamed."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from shop.billing.models import ShipmentStatus
from shop.db import utcnow
from shop.extensions import db
from tests.builders.billing import make_plan, make_shipment, many_shipments, subscriber
from tests.builders.content import make_box

MONTH = "2026-12"
URL = f"/admin/shipments.csv?month={MONTH}"
HEADER = [
    "shipment id",
    "ship month",
    "status",
    "box",
    "plan",
    "box n of m",
    "name",
    "line1",
    "line2",
    "city",
    "state",
    "postcode",
    "country",
    "customer email",
    "carrier",
    "tracking number",
    "reprint label",
]


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    return make_plan(make_box("musclebox", "MuscleBox", position=1), term_months=3)


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff"), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))


def test_header_and_one_row_per_shipment(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(
        subscriber("Ava Squat", plan, MONTH, sequence=2, line1="1 Harbour St", city="Sydney")
    )
    shipment.status = ShipmentStatus.SHIPPED
    shipment.carrier, shipment.tracking_number = "StarTrack", "ST99"
    shipment.ship_to_line2 = "Unit 4"
    shipment.address_changed_at = utcnow()
    make_shipment(subscriber("Ben Press", plan, "2027-01"))  # another month

    response = admin_client.get(URL, buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="musclebox-shipments-2026-12.csv"'
    )
    assert "no-store" in response.headers["Cache-Control"]
    rows = rows_of(response)
    assert rows[0] == HEADER
    assert len(rows) == 2
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row == {
        "shipment id": str(shipment.id),
        "ship month": MONTH,
        "status": "shipped",
        "box": "MuscleBox",
        "plan": "every 3 months",
        "box n of m": "2 of 3",
        "name": "Ava Squat",
        "line1": "1 Harbour St",
        "line2": "Unit 4",
        "city": "Sydney",
        "state": "NSW",
        "postcode": "2026",
        "country": "AU",
        "customer email": shipment.customer.email,
        "carrier": "StarTrack",
        "tracking number": "ST99",
        "reprint label": "yes",
    }


def test_csv_follows_the_box_and_status_filters(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    other = make_plan(make_box("recovery", "Recovery Box", position=2), term_months=1)
    make_shipment(subscriber("Ava Squat", plan, MONTH))
    make_shipment(subscriber("Ben Press", plan, MONTH), status=ShipmentStatus.PACKED)
    make_shipment(subscriber("Dan Deadlift", other, MONTH))
    names = [row[6] for row in rows_of(admin_client.get(f"{URL}&box={plan.box_id}", buffered=True))]
    assert names == ["name", "Ava Squat", "Ben Press"]
    names = [row[6] for row in rows_of(admin_client.get(f"{URL}&status=packed", buffered=True))]
    assert names == ["name", "Ben Press"]


def test_cells_that_a_spreadsheet_would_run_are_escaped(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    shipment = make_shipment(subscriber('=HYPERLINK("http://evil.test","x")', plan, MONTH))
    shipment.ship_to_line1 = "+61 Plus St"
    shipment.ship_to_line2 = "-1 Minus Rd"
    shipment.ship_to_city = "@SUM(A1)"
    shipment.ship_to_state = "\tTAB"
    shipment.tracking_number = "\rCR"
    shipment.carrier = "Other"
    db.session.commit()

    (header, row) = rows_of(admin_client.get(URL, buffered=True))
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == '\'=HYPERLINK("http://evil.test","x")'
    assert cells["line1"] == "'+61 Plus St"
    assert cells["line2"] == "'-1 Minus Rd"
    assert cells["city"] == "'@SUM(A1)"
    assert cells["state"] == "'\tTAB"
    assert cells["tracking number"] == "'\rCR"
    assert cells["carrier"] == "Other"


def test_a_month_not_yet_run_exports_only_the_header(admin_client: FlaskClient, plan) -> None:  # type: ignore[no-untyped-def]
    subscriber("Ava Squat", plan, MONTH)  # scheduled, not run
    rows = rows_of(admin_client.get(URL, buffered=True))
    assert rows == [HEADER]


def test_ten_thousand_rows_are_streamed_in_batches(
    app: Flask,
    admin_client: FlaskClient,
    plan,  # type: ignore[no-untyped-def]
) -> None:
    many_shipments(plan, MONTH, 10_000)

    rows = rows_of(admin_client.get(URL, buffered=True))
    assert rows[0] == HEADER
    assert len(rows) == 10_001
    assert len({row[0] for row in rows[1:]}) == 10_000

    # The view hands back a generator (not a built body) that reads the rows batch by batch.
    statements: list[str] = []

    def count_selects(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "shipments" in statement:
            statements.append(statement)

    with app.test_request_context(URL):
        response = app.view_functions["admin.shipments_csv"]()
        assert response.is_streamed
        event.listen(db.engine, "before_cursor_execute", count_selects)
        try:
            body = response.get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", count_selects)
    assert body.count("\r\n") == 10_001
    assert len(statements) == 11  # ten full batches of 1,000, then an empty one
