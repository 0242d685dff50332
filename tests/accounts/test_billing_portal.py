"""Manage billing against the Stripe emulator: a real portal session, returning to the account."""

from __future__ import annotations

import pytest

from shop.stripe_emulator.testing import RunningEmulator
from tests.accounts.conftest import sign_in
from tests.builders.billing import make_customer
from tests.helpers import csrf_token


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    return {
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "STRIPE_API_BASE": stripe_emulator.base_url,
        "CUSTOMER_LOGIN_RATE_LIMIT": "1000 per minute",
    }


def test_manage_billing_opens_the_customers_portal(app, stripe_emulator):
    at_stripe = stripe_emulator.client().v1.customers.create(params={"email": "jo@example.com"})
    customer = make_customer("jo@example.com", stripe_customer_id=at_stripe.id)
    client = app.test_client()
    sign_in(client, customer)

    response = client.post("/account/billing", data={"csrf_token": csrf_token(client, "/account/")})

    assert response.status_code == 303
    portal_url = response.headers["Location"]
    assert portal_url.startswith(stripe_emulator.base_url + "/p/session/")
    portal = stripe_emulator.app.test_client().get(
        portal_url.removeprefix(stripe_emulator.base_url)
    )
    assert portal.status_code == 200
    assert 'href="http://shop.test/account/"' in portal.get_data(as_text=True)
