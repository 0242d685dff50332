"""Skipping a box and managing billing per subscription, from the account: only one's own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.billing.gateway import PaymentProviderError
from shop.billing.models import Subscription
from shop.billing.subscriptions import SubscriptionChangeRefused
from shop.db import utcnow
from shop.extensions import db
from tests.accounts.conftest import sign_in
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_subscription,
)
from tests.builders.content import make_box
from tests.helpers import csrf_token, text_of, visible_text


class Recorder:
    """Stands in for a billing service; the Stripe side is tested end to end in tests/billing."""

    def __init__(self, result: object = None):
        self.result = result
        self.calls: list[tuple[object, ...]] = []

    def __call__(self, customer, *args):  # type: ignore[no-untyped-def]
        self.calls.append((customer.id, *args))
        if isinstance(self.result, Exception):
            raise self.result
        if self.result is None:
            return db.session.get(Subscription, args[0])
        return self.result


def press(client, path: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, "/account/"), **fields})


@pytest.fixture
def monthly(customer) -> Subscription:  # type: ignore[no-untyped-def]
    plan = make_plan(make_box("musclebox", "MuscleBox"))
    subscription = make_subscription(customer, plan)
    make_calendar_box(subscription, "2026-11")
    return subscription


@pytest.fixture
def someone_elses() -> Subscription:
    sam = make_customer("sam@example.com", name="Sam Squat")
    return make_subscription(sam, make_plan(make_box("hidden-box", "Hidden Box")))


def test_skipping_calls_the_service_and_redirects_to_the_subscription(
    customer_client, customer, monthly, monkeypatch
):
    skip = Recorder()
    monkeypatch.setattr("shop.accounts.views.skip_next_box", skip)

    response = press(customer_client, f"/account/subscriptions/{monthly.id}/skip")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/account/#subscription-{monthly.id}"
    assert skip.calls == [(customer.id, monthly.id)]
    page = visible_text(customer_client.get("/account/"))
    assert "Done: you're skipping" in page and "You can undo this until then." in page


def test_undoing_a_skip_calls_the_service(customer_client, customer, monkeypatch):
    subscription = make_subscription(customer, skipping=True)
    undo = Recorder()
    monkeypatch.setattr("shop.accounts.views.undo_skip", undo)

    response = press(customer_client, f"/account/subscriptions/{subscription.id}/skip/undo")

    assert response.status_code == 303
    assert undo.calls == [(customer.id, subscription.id)]
    assert "box is back on" in visible_text(customer_client.get("/account/"))


def test_a_prepaid_term_cannot_skip_and_nothing_changes(customer_client, customer):
    plan = make_plan(make_box("musclebox", "MuscleBox"), term_months=3)
    subscription = make_subscription(customer, plan)

    response = press(customer_client, f"/account/subscriptions/{subscription.id}/skip")

    assert response.status_code == 400
    page = visible_text(response)
    assert "We couldn't skip that box: Your 3-month plan is paid in advance" in page
    assert "Nothing was changed." in page
    assert not db.session.get(Subscription, subscription.id).is_skipping


def test_a_skip_too_late_is_refused(customer_client, customer):
    subscription = make_subscription(customer, skipping=True)
    subscription.current_period_end = utcnow() - timedelta(minutes=5)
    db.session.commit()

    response = press(customer_client, f"/account/subscriptions/{subscription.id}/skip/undo")

    assert response.status_code == 400
    assert "its payment date has passed" in visible_text(response)
    assert db.session.get(Subscription, subscription.id).is_skipping


def test_a_refusal_from_the_service_is_a_400(customer_client, monthly, monkeypatch):
    refused = Recorder(SubscriptionChangeRefused("Only a running subscription can skip a box."))
    monkeypatch.setattr("shop.accounts.views.skip_next_box", refused)
    response = press(customer_client, f"/account/subscriptions/{monthly.id}/skip")
    assert response.status_code == 400
    assert "Only a running subscription can skip a box." in visible_text(response)


def test_when_stripe_fails_the_skip_can_be_tried_again(customer_client, monthly, monkeypatch):
    monkeypatch.setattr(
        "shop.accounts.views.skip_next_box", Recorder(PaymentProviderError("Stripe is down"))
    )
    response = press(customer_client, f"/account/subscriptions/{monthly.id}/skip")
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "We couldn't reach our payment provider" in visible_text(response)
    assert "Stripe is down" not in visible_text(response)
    assert f'action="/account/subscriptions/{monthly.id}/skip"' in text_of(response)


@pytest.mark.parametrize("action", ["skip", "skip/undo"])
def test_someone_elses_subscription_is_not_found(
    customer_client, someone_elses, monkeypatch, action
):
    service = Recorder()
    monkeypatch.setattr("shop.accounts.views.skip_next_box", service)
    monkeypatch.setattr("shop.accounts.views.undo_skip", service)

    response = press(customer_client, f"/account/subscriptions/{someone_elses.id}/{action}")

    assert response.status_code == 404
    assert "We couldn't find that subscription on your account." in visible_text(response)
    assert service.calls == []


@pytest.mark.parametrize("raw_id", ["999999", "0", "abc", "1e3", "99999999999999999999"])
def test_ids_that_name_nothing_are_not_found(customer_client, monkeypatch, raw_id):
    service = Recorder()
    monkeypatch.setattr("shop.accounts.views.skip_next_box", service)
    response = press(customer_client, f"/account/subscriptions/{raw_id}/skip")
    assert response.status_code == 404
    assert service.calls == []


def test_skipping_needs_a_csrf_token(customer_client, monthly, monkeypatch):
    service = Recorder()
    monkeypatch.setattr("shop.accounts.views.skip_next_box", service)
    response = customer_client.post(f"/account/subscriptions/{monthly.id}/skip", data={})
    assert response.status_code == 400
    assert service.calls == []


def test_skipping_is_only_a_post(customer_client, monthly):
    assert customer_client.get(f"/account/subscriptions/{monthly.id}/skip").status_code == 405


def test_signed_out_skips_are_sent_to_sign_in(client, monthly, monkeypatch):
    service = Recorder()
    monkeypatch.setattr("shop.accounts.views.skip_next_box", service)
    response = client.post(
        f"/account/subscriptions/{monthly.id}/skip",
        data={"csrf_token": csrf_token(client, "/account/login")},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/account/login"
    assert service.calls == []


# -- managing billing per subscription --------------------------------------------------------


PORTAL = "https://billing.stripe.com/p/session/test_456"


def test_manage_billing_for_one_subscription(customer_client, customer, monthly, monkeypatch):
    portal = Recorder(PORTAL)
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)

    response = press(customer_client, "/account/billing", subscription_id=str(monthly.id))

    assert response.status_code == 303 and response.headers["Location"] == PORTAL
    assert portal.calls == [(customer.id, "http://shop.test/account/", monthly.id)]


def test_a_subscription_paid_by_another_stripe_customer_can_be_managed(app, monkeypatch):
    # Bought while signed out: the account has no Stripe customer of its own.
    customer = make_customer("later@example.com", stripe_customer_id=None)
    subscription = make_subscription(customer, stripe_customer_id="cus_signed_out")
    portal = Recorder(PORTAL)
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    client = app.test_client()
    sign_in(client, customer)

    assert f'name="subscription_id" value="{subscription.id}"' in text_of(client.get("/account/"))
    response = press(client, "/account/billing", subscription_id=str(subscription.id))

    assert response.status_code == 303
    assert portal.calls == [(customer.id, "http://shop.test/account/", subscription.id)]


@pytest.mark.parametrize("raw_id", ["someone", "abc", "-1"])
def test_manage_billing_for_someone_elses_subscription_is_not_found(
    customer_client, someone_elses, monkeypatch, raw_id
):
    portal = Recorder(PORTAL)
    monkeypatch.setattr("shop.accounts.views.open_billing_portal", portal)
    value = str(someone_elses.id) if raw_id == "someone" else raw_id
    response = press(customer_client, "/account/billing", subscription_id=value)
    assert response.status_code == 404
    assert portal.calls == []


def test_when_the_portal_fails_for_a_subscription_the_retry_keeps_it(
    customer_client, monthly, monkeypatch
):
    monkeypatch.setattr(
        "shop.accounts.views.open_billing_portal", Recorder(PaymentProviderError("down"))
    )
    response = press(customer_client, "/account/billing", subscription_id=str(monthly.id))
    assert response.status_code == 503 and "Retry-After" in response.headers
    body = text_of(response)
    assert 'action="/account/billing"' in body
    assert f'name="subscription_id" value="{monthly.id}"' in body


def test_skips_are_rate_limited(app, customer, monthly, monkeypatch):
    app.config["ACCOUNT_CHANGE_RATE_LIMIT"] = "1 per minute"
    monkeypatch.setattr("shop.accounts.views.skip_next_box", Recorder())
    client = app.test_client()
    sign_in(client, customer)
    assert press(client, f"/account/subscriptions/{monthly.id}/skip").status_code == 303
    assert press(client, f"/account/subscriptions/{monthly.id}/skip").status_code == 429
