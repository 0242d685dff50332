"""What a customer controls, end to end against the emulator: skipping a month, moving house,
and one account whatever they bought."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.accounts.addresses import PostalAddress
from shop.accounts.models import Customer
from shop.billing.customers import change_shipping_address
from shop.billing.gateway import gateway
from shop.billing.models import Shipment, ShipmentStatus, Subscription
from shop.billing.shipping import mark_shipments
from shop.billing.subscriptions import (
    SubscriptionChangeRefused,
    open_billing_portal,
    skip_next_box,
    undo_skip,
)
from shop.extensions import db
from tests.billing.calendar_helpers import months, move_to_day, ship_months
from tests.billing.conftest import buy, deliver

NEW_HOME = PostalAddress(
    name="Bea Buyer",
    line1="12 Smith St",
    line2="",
    city="Fitzroy",
    state="VIC",
    postal_code="3065",
    country="AU",
)


def only_subscription() -> Subscription:
    return db.session.scalars(select(Subscription)).one()


def next_month(stripe_emulator, client) -> list[tuple[str, int]]:
    stripe_emulator.advance(days=31)
    deliveries = deliver(stripe_emulator, client)
    assert all(status == 200 for _, status in deliveries), deliveries
    return deliveries


def test_skipping_next_months_box_charges_nothing_and_ships_nothing_that_month(
    app, client, pages, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    subscription = only_subscription()

    skip_next_box(subscription.customer, subscription.id)
    deliver(stripe_emulator, client)
    assert only_subscription().is_skipping

    next_month(stripe_emulator, client)  # the skipped renewal: voided, nothing charged
    invoices = list(
        stripe_emulator.client().v1.invoices.list(
            params={"subscription": subscription.stripe_subscription_id}
        )
    )
    assert sorted(invoice.status for invoice in invoices) == ["paid", "void"]
    assert ship_months() == [first]

    next_month(stripe_emulator, client)  # charged again, a box again
    assert ship_months() == [first, months(first, 3)[2]]
    assert not only_subscription().is_skipping


def test_undoing_a_skip_before_the_payment_date_keeps_the_box_coming(
    app, client, pages, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    subscription = only_subscription()
    skip_next_box(subscription.customer, subscription.id)
    undo_skip(subscription.customer, subscription.id)
    deliver(stripe_emulator, client)
    assert not only_subscription().is_skipping
    next_month(stripe_emulator, client)
    assert ship_months() == months(first, 2)


def test_a_prepaid_term_cannot_skip_and_nothing_changes(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator, "musclebox", 3)
    deliver(stripe_emulator, client)
    subscription = only_subscription()
    with pytest.raises(SubscriptionChangeRefused, match="paid in advance"):
        skip_next_box(subscription.customer, subscription.id)
    remote = gateway().retrieve_subscription(subscription.stripe_subscription_id)
    assert remote.get("pause_collection") is None
    assert not only_subscription().is_skipping


def test_someone_elses_subscription_cannot_be_skipped(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    subscription = only_subscription()
    stranger = Customer(email="stranger@example.com")
    db.session.add(stranger)
    db.session.commit()
    with pytest.raises(SubscriptionChangeRefused):
        skip_next_box(stranger, subscription.id)
    assert not only_subscription().is_skipping


def test_a_new_address_between_two_runs_goes_on_the_later_box_only(
    app, client, pages, runner, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    assert runner.invoke(args=["shipping-run", "--month", first]).exit_code == 0
    mark_shipments(db.session.scalars(select(Shipment.id)).all(), ShipmentStatus.SHIPPED)

    customer = only_subscription().customer
    change_shipping_address(customer, NEW_HOME)
    deliver(stripe_emulator, client)  # customer.updated comes back: nothing changes twice
    stripe_customer = gateway().retrieve_customer(customer.stripe_customer_id)
    assert stripe_customer["shipping"]["address"]["line1"] == "12 Smith St"

    next_month(stripe_emulator, client)
    second = months(first, 2)[1]
    assert runner.invoke(args=["shipping-run", "--month", second]).exit_code == 0
    by_month = dict(db.session.execute(select(Shipment.ship_month, Shipment.ship_to_line1)).all())
    assert by_month == {first: "1 George St", second: "12 Smith St"}


def test_moving_after_the_run_readdresses_a_box_not_yet_packed_and_flags_it(
    app, client, pages, runner, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    runner.invoke(args=["shipping-run", "--month", first])
    changed = change_shipping_address(only_subscription().customer, NEW_HOME)
    shipment = db.session.scalars(select(Shipment)).one()
    assert changed == 1
    assert (shipment.ship_to_line1, shipment.ship_to_city) == ("12 Smith St", "Fitzroy")
    assert shipment.address_changed_at is not None


def test_a_repeat_buyer_signed_out_finds_both_subscriptions_on_one_account(
    app, client, pages, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 3, email="BEA@example.com")
    deliver(stripe_emulator, client)

    assert db.session.scalar(select(func.count(Customer.id))) == 1
    subscriptions = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()
    assert len(subscriptions) == 2
    assert subscriptions[0].customer_id == subscriptions[1].customer_id
    first_payer, second_payer = (s.stripe_customer_id for s in subscriptions)
    assert first_payer != second_payer, "Stripe made a second customer for the second checkout"

    # Each one can be managed: its portal opens for the Stripe customer that pays for it.
    customer = subscriptions[0].customer
    for subscription, payer in ((subscriptions[0], first_payer), (subscriptions[1], second_payer)):
        url = open_billing_portal(customer, "http://shop.test/account/", subscription.id)
        session_id = url.rstrip("/").rsplit("/", 1)[-1]
        portal = stripe_emulator.emulator.data["portal_sessions"][session_id]
        assert portal["customer"] == payer


def test_the_admin_sees_who_is_skipping_a_month(
    app, client, pages, stripe_emulator, catalogue, admin_client
):
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    subscription = only_subscription()
    page = admin_client.get("/admin/shipments").get_data(as_text=True)
    assert "Nobody is skipping a month." in page
    skip_next_box(subscription.customer, subscription.id)
    page = admin_client.get("/admin/shipments").get_data(as_text=True)
    assert f'id="skipping-{subscription.id}"' in page and "bea@example.com" in page


def test_an_address_the_shop_cannot_ship_to_from_the_portal_is_never_put_on_a_box(
    app, client, pages, runner, stripe_emulator, catalogue
):
    first = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 3)
    deliver(stripe_emulator, client)
    runner.invoke(args=["shipping-run", "--month", first])
    customer = only_subscription().customer
    stripe_emulator.client().v1.customers.update(
        customer.stripe_customer_id,
        params={
            "shipping": {
                "name": "Bea Buyer",
                "address": {"line1": "1 Main St", "city": "Boise", "state": "ID",
                            "postal_code": "83702", "country": "US"},
            }
        },
    )  # fmt: skip
    deliver(stripe_emulator, client)
    shipment = db.session.scalars(select(Shipment)).one()
    assert shipment.ship_to_line1 == "1 George St", "the box in packing keeps a deliverable label"

    second = months(first, 2)[1]
    result = runner.invoke(args=["shipping-run", "--month", second])
    assert "1 box(es) have no address we can ship to" in result.output
    assert db.session.scalar(select(func.count(Shipment.id))) == 1


def test_skipping_twice_says_so_and_changes_nothing(app, client, pages, stripe_emulator, catalogue):
    buy(client, pages, stripe_emulator, "musclebox", 1)
    deliver(stripe_emulator, client)
    subscription = only_subscription()
    skip_next_box(subscription.customer, subscription.id)
    with pytest.raises(SubscriptionChangeRefused, match="already skipping"):
        skip_next_box(subscription.customer, subscription.id)


def test_the_account_says_where_a_subscription_bought_elsewhere_ships(
    app, client, pages, stripe_emulator, catalogue
):
    from tests.accounts.conftest import sign_in
    from tests.helpers import visible_text

    buy(client, pages, stripe_emulator, "musclebox", 1)
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 1,
        line1="9 Beach Rd", line2="", city="Perth", state="WA", postal_code="6000")  # fmt: skip
    deliver(stripe_emulator, client)
    browser = app.test_client()
    sign_in(browser, db.session.scalars(select(Customer)).one())
    page = visible_text(browser.get("/account/"))
    assert "Its boxes go to 9 Beach Rd, Perth WA 6000." in page
    assert page.count("Its boxes go to") == 1
