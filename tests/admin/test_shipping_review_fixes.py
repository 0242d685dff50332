"""Held boxes stay off the packing list, overdue boxes are shown, back-to-packing forgets the
parcel: what a review of the shipping month found."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from shop.billing.calendar import add_months, current_month
from shop.billing.models import BoxStatus, CalendarBox, Shipment, ShipmentStatus
from shop.billing.shipping import ShippingError, mark_shipments, run_shipping
from shop.extensions import db
from tests.builders.billing import make_plan, subscriber
from tests.builders.content import make_box
from tests.helpers import csrf_token


def _plan():  # type: ignore[no-untyped-def]
    return make_plan(make_box("musclebox", "MuscleBox", position=1), term_months=3)


def test_a_held_box_in_the_run_is_off_the_packing_list_and_the_csv_and_cannot_ship(
    admin_client: FlaskClient,
) -> None:
    month = current_month()
    plan = _plan()
    kept = subscriber("Kim Keeps", plan, month)
    gone = subscriber("Gil Gone", plan, month)
    run_shipping(month)
    db.session.get(CalendarBox, gone.id).status = BoxStatus.HELD
    db.session.commit()
    gone_shipment = db.session.scalar(select(Shipment).where(Shipment.calendar_box_id == gone.id))

    page = admin_client.get(f"/admin/shipments?month={month}").get_data(as_text=True)
    assert f'id="held-{gone.id}"' in page
    assert f'id="shipment-{gone_shipment.id}"' not in page, "held: not on the packing list"
    csv = admin_client.get(f"/admin/shipments.csv?month={month}", buffered=True).get_data(
        as_text=True
    )
    assert "Kim Keeps" in csv and "Gil Gone" not in csv

    try:
        mark_shipments([gone_shipment.id], ShipmentStatus.SHIPPED)
    except ShippingError as refused:
        assert "held" in str(refused)
    else:
        raise AssertionError("a held box was marked shipped")
    assert db.session.get(Shipment, gone_shipment.id).status is ShipmentStatus.TO_PACK

    token = csrf_token(admin_client, f"/admin/shipments?month={month}")
    admin_client.post(
        f"/admin/held-boxes/{gone.id}?month={month}", data={"decision": "send", "csrf_token": token}
    )
    csv = admin_client.get(f"/admin/shipments.csv?month={month}", buffered=True).get_data(
        as_text=True
    )
    assert "Gil Gone" in csv, "sent after all: back on the packing list"
    assert kept.id


def test_boxes_of_an_earlier_month_never_run_are_pointed_out(admin_client: FlaskClient) -> None:
    earlier = add_months(current_month(), -2)
    subscriber("Lou Late", _plan(), earlier)
    page = admin_client.get("/admin/shipments").get_data(as_text=True)
    assert "Boxes from earlier months not yet shipped" in page
    assert f'href="/admin/shipments?month={earlier}"' in page


def test_back_to_packing_forgets_the_parcel_but_never_emails_twice(app) -> None:  # type: ignore[no-untyped-def]
    from tests.mail.helpers import sent_emails

    box = subscriber("Pat Parcel", _plan(), current_month())
    run_shipping(current_month())
    shipment_id = db.session.scalar(select(Shipment.id))
    mark_shipments([shipment_id], ShipmentStatus.SHIPPED, carrier="Sendle", tracking_number="S1")
    mark_shipments([shipment_id], ShipmentStatus.TO_PACK)
    shipment = db.session.get(Shipment, shipment_id)
    assert (shipment.carrier, shipment.tracking_number, shipment.shipped_at) == ("", "", None)
    mark_shipments([shipment_id], ShipmentStatus.SHIPPED, carrier="Sendle", tracking_number="S2")
    assert len(sent_emails(to=box.customer.email)) == 1
