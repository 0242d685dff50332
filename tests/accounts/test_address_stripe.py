"""The address form against the Stripe emulator: Stripe, the account, its subscriptions and the
boxes not yet packed all move to the new address; when Stripe fails, nothing moves."""

from __future__ import annotations

import pytest

from shop.accounts.addresses import PostalAddress, address_of
from shop.accounts.models import Customer
from shop.billing.models import Shipment, ShipmentStatus, Subscription
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.accounts.conftest import sign_in
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_shipment,
    make_subscription,
)
from tests.builders.content import make_box
from tests.helpers import csrf_token, visible_text

OLD = PostalAddress("Jo Lifter", "12 Bondi Rd", "", "Bondi", "NSW", "2026", "AU")
NEW = PostalAddress("Jo Lifter", "5 King St", "Unit 2", "Newtown", "NSW", "2042", "AU")


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    return {
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "STRIPE_API_BASE": stripe_emulator.base_url,
        "CUSTOMER_LOGIN_RATE_LIMIT": "1000 per minute",
    }


def stripe_customer(stripe_emulator: RunningEmulator, email: str) -> str:
    created = stripe_emulator.client().v1.customers.create(
        params={"email": email, "name": OLD.name, "shipping": OLD.to_stripe()}  # type: ignore[typeddict-item]
    )
    return created.id


def shipping_at_stripe(stripe_emulator: RunningEmulator, stripe_id: str) -> PostalAddress | None:
    remote = stripe_emulator.client().v1.customers.retrieve(stripe_id).to_dict()
    return PostalAddress.from_stripe(remote.get("shipping"))


def post_new_address(client):  # type: ignore[no-untyped-def]
    fields = {key: value for key, value in NEW.as_dict().items() if key != "country"}
    return client.post(
        "/account/address",
        data={**fields, "csrf_token": csrf_token(client, "/account/address")},
    )


def test_a_new_address_reaches_stripe_the_account_and_the_unpacked_boxes(app, stripe_emulator):
    own = stripe_customer(stripe_emulator, "jo@example.com")
    signed_out = stripe_customer(stripe_emulator, "jo@example.com")  # bought again, signed out
    customer = make_customer("jo@example.com", stripe_customer_id=own)
    box = make_box("musclebox", "MuscleBox")
    first = make_subscription(customer, make_plan(box))
    second = make_subscription(
        customer, make_plan(box, term_months=3), stripe_customer_id=signed_out
    )
    to_pack = make_shipment(make_calendar_box(first, "2026-12"))
    packed = make_shipment(make_calendar_box(second, "2026-12"), status=ShipmentStatus.PACKED)
    client = app.test_client()
    sign_in(client, customer)

    response = post_new_address(client)

    assert response.status_code == 303
    assert shipping_at_stripe(stripe_emulator, own) == NEW
    assert shipping_at_stripe(stripe_emulator, signed_out) == NEW
    assert address_of(db.session.get(Customer, customer.id), "shipping_") == NEW
    for subscription in (first, second):
        assert address_of(db.session.get(Subscription, subscription.id), "ship_to_") == NEW
    readdressed = db.session.get(Shipment, to_pack.id)
    assert address_of(readdressed, "ship_to_") == NEW
    assert readdressed.address_changed_at is not None, "the packing team prints a new label"
    kept = db.session.get(Shipment, packed.id)
    assert kept.ship_to_line1 == OLD.line1, "a packed box keeps the label it was packed with"
    page = visible_text(client.get("/account/"))
    assert "Your next boxes go to 5 King St, Unit 2, Newtown NSW 2042." in page
    assert "The box already being packed goes there too" in page
    assert "One box is already packed and goes to your old address." in page
    assert "Shipping address Jo Lifter 5 King St Unit 2 Newtown NSW 2042 Australia" in page


def test_when_stripe_refuses_nothing_changes(app, stripe_emulator):
    customer = make_customer("jo@example.com", stripe_customer_id="cus_not_at_stripe")
    client = app.test_client()
    sign_in(client, customer)

    response = post_new_address(client)

    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "nothing was changed" in visible_text(response)
    assert address_of(db.session.get(Customer, customer.id), "shipping_") == OLD
