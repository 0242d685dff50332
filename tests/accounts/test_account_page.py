"""The account page: the customer's own subscriptions, address and boxes, and billing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop.billing.gateway import PaymentProviderError
from shop.billing.models import ShipmentStatus, SubscriptionStatus
from tests.accounts.conftest import sign_in
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_shipment,
    make_subscription,
)
from tests.builders.content import make_box
from tests.helpers import csrf_token, text_of, visible_text

# 14:00 UTC on 2 January is 1 am on 3 January in Sydney (daylight saving time).
RENEWS = datetime(2027, 1, 2, 14, 0, tzinfo=UTC)
ENDED = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"


def test_the_header_account_link_points_at_the_account(client):
    assert 'href="/account/"' in text_of(client.get("/"))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"status": SubscriptionStatus.ACTIVE}, "Active — renews 3 Jan"),
        ({"status": SubscriptionStatus.TRIALING}, "Free trial — first payment 3 Jan"),
        ({"status": SubscriptionStatus.PAST_DUE}, "Payment failed — update your card"),
        ({"status": SubscriptionStatus.UNPAID}, "Payment failed — update your card"),
        (
            {"status": SubscriptionStatus.ACTIVE, "cancel_at_period_end": True},
            "Cancels on 3 Jan",
        ),
        ({"status": SubscriptionStatus.ACTIVE, "cancel_at": RENEWS}, "Cancels on 3 Jan"),
        ({"status": SubscriptionStatus.CANCELED, "ended_at": ENDED}, "Cancelled"),
        ({"status": SubscriptionStatus.PAUSED}, "Paused — add a card to restart"),
        ({"status": SubscriptionStatus.INCOMPLETE}, "Waiting for your first payment"),
        (
            {"status": SubscriptionStatus.INCOMPLETE_EXPIRED},
            "Not started — the first payment didn't go through",
        ),
    ],
)
def test_each_subscription_status_in_words(app, customer, fields, words):
    plan = make_plan(make_box("miss-musclebox", "Miss MuscleBox"), term_months=3, price_cents=13485)
    make_subscription(customer, plan, current_period_end=RENEWS, **fields)
    client = app.test_client()
    sign_in(client, customer)
    page = visible_text(client.get("/account/"))
    assert "Miss MuscleBox Every 3 months · $134.85 AUD" in page
    assert words in page


def test_a_cancelled_subscription_is_listed_as_past_with_its_end_date(app, customer):
    make_subscription(customer, status=SubscriptionStatus.CANCELED, ended_at=ENDED)
    client = app.test_client()
    sign_in(client, customer)
    page = visible_text(client.get("/account/"))
    assert "You don't have a subscription running at the moment." in page
    assert "Past subscriptions" in page
    assert "Cancelled Ended on 4 March 2026." in page


def test_a_failed_payment_is_called_out_above_everything(app, customer):
    make_subscription(customer, status=SubscriptionStatus.PAST_DUE)
    client = app.test_client()
    sign_in(client, customer)
    page = visible_text(client.get("/account/"))
    assert "A payment didn't go through. Update your card under Manage billing" in page


def test_the_shipping_address_is_shown(customer_client):
    page = visible_text(customer_client.get("/account/"))
    assert "Shipping address Jo Lifter 12 Bondi Rd Bondi NSW 2026 Australia" in page


def test_without_an_address_the_page_says_when_it_is_asked_for(app):
    customer = make_customer("new@example.com", line1="", city="", state="", postal_code="")
    client = app.test_client()
    sign_in(client, customer)
    page = visible_text(client.get("/account/"))
    assert "We don't have a shipping address for you yet" in page
    assert "No boxes yet." in page


def test_customers_see_only_their_own_things(app):
    jo = make_customer("jo@example.com", name="Jo Lifter", line1="12 Bondi Rd")
    sam = make_customer("sam@example.com", name="Sam Squat", line1="99 Secret St", city="Perth")
    jo_sub = make_subscription(jo, make_plan(make_box("musclebox", "MuscleBox")))
    sam_sub = make_subscription(sam, make_plan(make_box("hidden-box", "Hidden Box")))
    make_shipment(make_calendar_box(jo_sub, "2026-10"), status=ShipmentStatus.SHIPPED)
    make_shipment(make_calendar_box(sam_sub, "2026-10"), status=ShipmentStatus.SHIPPED)
    make_calendar_box(sam_sub, "2026-11")

    client = app.test_client()
    sign_in(client, jo)
    page = visible_text(client.get("/account/"))
    assert "MuscleBox" in page and "12 Bondi Rd" in page
    for secret in ("Hidden Box", "Sam Squat", "99 Secret St", "Perth", "sam@example.com"):
        assert secret not in page


def test_a_customer_session_does_not_open_the_admin_area(customer_client):
    for path in ("/admin/", "/admin/comments"):
        response = customer_client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/admin/login")


def test_a_signed_in_admin_is_not_a_customer(admin_client):
    response = admin_client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"


def test_names_and_addresses_are_escaped(app):
    customer = make_customer(
        "x@example.com", name="<script>alert(1)</script>", line1="<b>1 Tag St</b>"
    )
    client = app.test_client()
    sign_in(client, customer)
    body = client.get("/account/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "<b>1 Tag St</b>" not in body
    assert "&lt;b&gt;1 Tag St&lt;/b&gt;" in body


def test_account_pages_are_not_cached(customer_client):
    response = customer_client.get("/account/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


class PortalRecorder:
    def __init__(self, result: str | Exception = "https://billing.stripe.com/p/session/test_123"):
        self.result = result
        self.calls: list[tuple[int, str, int | None]] = []

    def __call__(self, customer, return_url, subscription_id):  # type: ignore[no-untyped-def]
        self.calls.append((customer.id, return_url, subscription_id))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def press_manage_billing(client):  # type: ignore[no-untyped-def]
    return client.post("/account/billing", data={"csrf_token": csrf_token(client, "/account/")})


def test_manage_billing_goes_to_the_billing_portal(customer_client, customer, monkeypatch):
    portal = PortalRecorder()
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    page = visible_text(customer_client.get("/account/"))
    assert "Manage billing" in page

    response = press_manage_billing(customer_client)

    assert response.status_code == 303
    assert response.headers["Location"] == "https://billing.stripe.com/p/session/test_123"
    assert portal.calls == [(customer.id, "http://shop.test/account/", None)]


def test_billing_portal_failure_shows_a_friendly_page(customer_client, monkeypatch):
    portal = PortalRecorder(PaymentProviderError("Stripe is down"))
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)

    response = press_manage_billing(customer_client)

    assert response.status_code == 503 and "Retry-After" in response.headers
    page = visible_text(response)
    assert "We couldn't reach our payment provider" in page
    assert "Please try again in a minute." in page
    assert "Stripe is down" not in page
    assert 'action="/account/billing"' in text_of(response), "a button to try again"


def test_manage_billing_needs_a_csrf_token(customer_client, monkeypatch):
    portal = PortalRecorder()
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    response = customer_client.post("/account/billing", data={})
    assert response.status_code == 400
    assert portal.calls == []


def test_manage_billing_when_signed_out_asks_to_sign_in(client, monkeypatch):
    portal = PortalRecorder()
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    response = client.post(
        "/account/billing", data={"csrf_token": csrf_token(client, "/account/login")}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/account/login"
    assert portal.calls == []


def test_no_billing_to_manage_before_the_first_subscription(app, monkeypatch):
    portal = PortalRecorder()
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    customer = make_customer("fresh@example.com", stripe_customer_id=None)
    client = app.test_client()
    sign_in(client, customer)
    page = visible_text(client.get("/account/"))
    assert "There's no billing to manage yet" in page
    assert "Manage billing" not in page.replace("Update your card under Manage billing", "")

    response = press_manage_billing(client)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert "There's no billing to manage yet" in visible_text(client.get("/account/"))
    assert portal.calls == []
