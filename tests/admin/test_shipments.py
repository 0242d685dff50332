"""The packing list: shipments to pack, packed and shipped."""

from __future__ import annotations

from flask.testing import FlaskClient

from shop.accounts.models import Customer
from shop.billing.models import Invoice, Shipment, ShipmentStatus, Subscription, SubscriptionStatus
from shop.catalog.models import Plan
from shop.demo import seed_demo
from shop.extensions import db
from tests.helpers import csrf_token, text_of


def make_shipment(city: str = "Hobart") -> Shipment:
    seed_demo()
    plan = db.session.scalar(db.select(Plan).where(Plan.lookup_key == "musclebox-3m"))
    customer = Customer(email=f"{city.lower()}@example.com", name=f"{city} Lifter")
    subscription = Subscription(
        stripe_subscription_id=f"sub_{city}",
        customer=customer,
        plan=plan,
        status=SubscriptionStatus.ACTIVE,
    )
    db.session.add(subscription)
    db.session.flush()
    invoice = Invoice(
        stripe_invoice_id=f"in_{city}", subscription_id=subscription.id, status="paid"
    )
    db.session.add(invoice)
    db.session.flush()
    shipment = Shipment(
        invoice_id=invoice.id,
        subscription_id=subscription.id,
        customer_id=customer.id,
        box_id=plan.box_id,
        plan_id=plan.id,
        ship_to_name=f"{city} Lifter",
        ship_to_line1="1 Main St",
        ship_to_city=city,
        ship_to_state="TAS",
        ship_to_postal_code="7000",
        ship_to_country="AU",
    )
    db.session.add(shipment)
    db.session.commit()
    return shipment


def test_packing_list_shows_box_plan_and_address(admin_client: FlaskClient) -> None:
    make_shipment("Hobart")
    page = text_of(admin_client.get("/admin/shipments"))
    assert "MuscleBox" in page and "every 3 months" in page
    assert "Hobart Lifter" in page and "1 Main St" in page and "Hobart TAS 7000" in page
    assert 'To pack <span class="admin-tab-count">(1)</span>' in page


def test_mark_packed_then_shipped(admin_client: FlaskClient) -> None:
    shipment = make_shipment()
    token = csrf_token(admin_client, "/admin/shipments")
    response = admin_client.post(
        f"/admin/shipments/{shipment.id}/status", data={"status": "packed", "csrf_token": token}
    )
    assert response.status_code == 303
    assert db.session.get(Shipment, shipment.id).status is ShipmentStatus.PACKED
    admin_client.post(
        f"/admin/shipments/{shipment.id}/status", data={"status": "shipped", "csrf_token": token}
    )
    assert db.session.get(Shipment, shipment.id).status is ShipmentStatus.SHIPPED
    assert "Hobart Lifter" in text_of(admin_client.get("/admin/shipments?status=shipped"))


def test_bad_shipment_requests(admin_client: FlaskClient, client: FlaskClient) -> None:
    shipment = make_shipment()
    token = csrf_token(admin_client, "/admin/shipments")
    url = f"/admin/shipments/{shipment.id}/status"
    assert admin_client.post(url, data={"status": "lost", "csrf_token": token}).status_code == 400
    assert admin_client.post(url, data={"status": "packed"}).status_code == 400
    assert (
        admin_client.post(
            "/admin/shipments/999/status", data={"status": "packed", "csrf_token": token}
        ).status_code
        == 404
    )
    assert admin_client.get("/admin/shipments?status=lost").status_code == 404
    assert db.session.get(Shipment, shipment.id).status is ShipmentStatus.TO_PACK
    assert client.get("/admin/shipments").status_code in (302, 303)
