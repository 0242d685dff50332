"""The cases a real shop meets sooner or later: price changes, late events, moved customers."""

from __future__ import annotations

import re
import socket
import threading

import pytest
from sqlalchemy import func, select

from shop.accounts.models import Customer
from shop.billing.models import (
    CalendarBox,
    CheckoutRecord,
    Invoice,
    Shipment,
    Subscription,
    SubscriptionStatus,
)
from shop.catalog.models import Plan
from shop.extensions import db
from tests.billing.calendar_helpers import run_every_month
from tests.billing.conftest import buy, card_form, deliver, hosted_path, subscribe_button
from tests.billing.test_webhooks import post_event
from tests.conftest import IS_POSTGRES
from tests.helpers import text_of
from tests.mail.helpers import sent_emails

NEW_ADDRESS = {
    "name": "Bea Buyer",
    "address": {"line1": "9 Beach Rd", "city": "Perth", "state": "WA", "postal_code": "6000",
                "country": "AU"},
}  # fmt: skip


def _bought(client, pages, stripe_emulator, **kwargs) -> Subscription:  # type: ignore[no-untyped-def]
    buy(client, pages, stripe_emulator, **kwargs)
    deliver(stripe_emulator, client)
    subscription = db.session.scalar(select(Subscription))
    assert subscription is not None
    return subscription


def test_subscribers_on_a_replaced_price_keep_getting_boxes(
    app, client, pages, runner, stripe_emulator, catalogue
):
    subscription = _bought(client, pages, stripe_emulator, box_slug="musclebox", term_months=1)
    plan = db.session.scalar(select(Plan).where(Plan.lookup_key == "musclebox-1m"))
    plan.price_cents = 5495
    db.session.commit()
    assert "archived price" in runner.invoke(args=["sync-stripe"]).output

    stripe_emulator.advance(days=32)
    deliveries = deliver(stripe_emulator, client)
    assert all(status == 200 for _, status in deliveries), deliveries
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 2
    assert db.session.get(Subscription, subscription.id).plan.lookup_key == "musclebox-1m"


def test_a_late_payment_failed_cannot_undo_a_paid_invoice(
    app, client, pages, stripe_emulator, catalogue
):
    _bought(client, pages, stripe_emulator)
    paid = db.session.scalar(select(Invoice))
    assert paid.status == "paid"
    stale = (
        stripe_emulator.client().v1.invoices.retrieve(paid.stripe_invoice_id).to_dict(for_json=True)
    )
    stale.update(status="open", amount_paid=0)
    before = len(sent_emails(to="bea@example.com"))
    late = {"id": "evt_late_failure", "object": "event", "type": "invoice.payment_failed",
            "api_version": "2026-10-28.endive", "created": 1, "data": {"object": stale}}  # fmt: skip
    assert post_event(client, late).status_code == 200
    assert db.session.get(Invoice, paid.id).status == "paid"
    assert len(sent_emails(to="bea@example.com")) == before, "no 'payment failed' email"


def test_a_shipment_has_one_whole_address_never_a_mix(
    app, client, pages, stripe_emulator, catalogue
):
    subscription = _bought(client, pages, stripe_emulator)
    stripe = stripe_emulator.client()
    stripe.v1.customers.update(
        subscription.customer.stripe_customer_id, params={"shipping": NEW_ADDRESS}
    )
    deliver(stripe_emulator, client)
    customer = db.session.get(Customer, subscription.customer_id)
    customer.shipping_line2 = "Level 2 (stale)"  # the shop's copy lags behind
    db.session.commit()

    stripe_emulator.advance(days=95)
    deliver(stripe_emulator, client)
    run_every_month()
    renewal = db.session.scalars(select(Shipment).order_by(Shipment.id)).all()[-1]
    assert (renewal.ship_to_line1, renewal.ship_to_line2, renewal.ship_to_city) == (
        "9 Beach Rd",
        "",
        "Perth",
    )


def test_a_late_customer_updated_never_brings_back_an_old_address(
    app, client, pages, stripe_emulator, catalogue
):
    subscription = _bought(client, pages, stripe_emulator)
    stripe = stripe_emulator.client()
    stripe.v1.customers.update(
        subscription.customer.stripe_customer_id, params={"shipping": NEW_ADDRESS}
    )
    deliver(stripe_emulator, client)
    old = stripe.v1.events.list(params={"type": "customer.created"}).data[0].to_dict(for_json=True)
    old.update(id="evt_old_snapshot", type="customer.updated")
    assert post_event(client, old).status_code == 200
    assert db.session.get(Customer, subscription.customer_id).shipping_city == "Perth"
    assert db.session.get(Subscription, subscription.id).ship_to_city == "Perth"


def test_a_returning_customers_new_address_reaches_stripe_and_their_boxes(
    app, client, pages, stripe_emulator, catalogue
):
    first = _bought(client, pages, stripe_emulator, box_slug="musclebox", term_months=1)
    with client.session_transaction() as browser:
        browser["customer_id"] = first.customer_id
    response = client.post("/checkout", data=subscribe_button(client, "protein-musclebox", 1))
    paid = pages.post(
        hosted_path(response.headers["Location"], stripe_emulator),
        data=card_form(line1="9 Beach Rd", line2="", city="Perth", state="WA", postal_code="6000"),
    )
    assert paid.status_code == 303
    deliver(stripe_emulator, client)
    remote = stripe_emulator.client().v1.customers.retrieve(first.customer.stripe_customer_id)
    assert remote.shipping.address.city == "Perth"
    assert db.session.scalar(select(func.count(Customer.id))) == 1
    run_every_month()
    assert {s.ship_to_city for s in db.session.scalars(select(Shipment))} == {"Perth"}


def test_a_signed_out_checkout_with_someones_email_cannot_rewrite_their_account(
    app, client, pages, stripe_emulator, catalogue
):
    owner = _bought(client, pages, stripe_emulator).customer
    stranger = app.test_client()
    buy(stranger, pages, stripe_emulator, box_slug="musclebox", term_months=1,
        shipping_name="Mallory", line1="66 Evil Ave", line2="", city="Darwin", state="NT",
        postal_code="0800")  # fmt: skip
    deliver(stripe_emulator, client)
    account = db.session.get(Customer, owner.id)
    assert (account.shipping_name, account.shipping_line1) == ("Bea Buyer", "1 George St")
    assert account.stripe_customer_id == owner.stripe_customer_id
    second = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()[-1]
    assert second.customer_id == owner.id, "one person, one account"
    assert second.ship_to_line1 == "66 Evil Ave", "that box still goes where its buyer asked"


def test_subscribing_again_from_the_same_page_after_paying_starts_a_new_checkout(
    app, client, pages, stripe_emulator, catalogue
):
    form = subscribe_button(client, "musclebox", 1)
    first = client.post("/checkout", data=form)
    assert (
        pages.post(
            hosted_path(first.headers["Location"], stripe_emulator), data=card_form()
        ).status_code
        == 303
    )
    again = client.post("/checkout", data=form)  # the back button, then Subscribe
    assert again.status_code == 303 and again.headers["Location"] != first.headers["Location"]
    session_id = again.headers["Location"].rsplit("/", 1)[-1]
    assert stripe_emulator.client().v1.checkout.sessions.retrieve(session_id).status == "open"


@pytest.mark.skipif(
    not IS_POSTGRES,
    reason="needs PostgreSQL: the in-memory SQLite test database has one connection",
)
def test_double_click_at_the_same_time_makes_one_session(app, client, stripe_emulator, catalogue):
    form = subscribe_button(client, "musclebox", 3)
    cookie = client.get_cookie("session")
    assert cookie is not None
    locations: list[str] = []
    barrier = threading.Barrier(2)

    def press() -> None:
        browser = app.test_client()  # the same browser: the same session cookie
        browser.set_cookie("session", cookie.value)
        barrier.wait(timeout=10)
        response = browser.post("/checkout", data=form)
        locations.append(response.headers.get("Location", str(response.status_code)))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(locations) == 2 and locations[0] == locations[1]
    assert len(stripe_emulator.client().v1.checkout.sessions.list().data) == 1
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 1


def test_an_enormous_plan_id_is_a_400_not_a_500(app, client, stripe_emulator, catalogue):
    form = subscribe_button(client, "musclebox", 1)
    response = client.post("/checkout", data={**form, "plan_id": "9" * 30})
    assert response.status_code == 400


def test_a_slow_stripe_gets_a_friendly_page_in_seconds(app, client, stripe_emulator, catalogue):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        form = subscribe_button(client, "musclebox", 1)
        app.config.update(
            STRIPE_API_BASE=f"http://127.0.0.1:{silent.getsockname()[1]}", STRIPE_TIMEOUT_SECONDS=1
        )
        app.extensions.pop("stripe_gateway", None)
        response = client.post("/checkout", data=form)
    finally:
        silent.close()
    assert response.status_code == 503
    assert "couldn't reach our payment provider" in text_of(response)
    assert db.session.scalar(select(func.count(CheckoutRecord.id))) == 0


def test_reconcile_grants_the_boxes_a_missed_invoice_paid_would_have(
    app, client, pages, runner, stripe_emulator, catalogue
):
    _bought(client, pages, stripe_emulator)
    stripe_emulator.advance(days=95)
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 3
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert re.search(r"boxes granted for in_\w+: \d{4}-\d\d, \d{4}-\d\d, \d{4}-\d\d", result.output)
    assert db.session.scalar(select(func.count(CalendarBox.id))) == 6
    assert "All in step." in runner.invoke(args=["reconcile"]).output
    assert db.session.scalar(select(Subscription.status)) is SubscriptionStatus.ACTIVE
