"""Account fixtures: customers, and browsers signed in as them through the emailed link."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.accounts.models import Customer
from tests.builders.billing import make_customer
from tests.helpers import csrf_token
from tests.mail.helpers import sent_emails, sign_in_link_in

SITE_URL = "http://shop.test"


@pytest.fixture
def app_settings() -> dict[str, object]:
    # Rate limits are switched back on by the tests that test them.
    return {"CUSTOMER_LOGIN_RATE_LIMIT": "1000 per minute"}


def request_link(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    """Ask for a sign-in link through the form, as a browser does."""
    return client.post(
        "/account/login",
        data={"email": email, "csrf_token": csrf_token(client, "/account/login")},
    )


def emailed_link_path(email: str) -> str:
    """The path of the newest sign-in link emailed to `email`."""
    link = sign_in_link_in(sent_emails(to=email)[-1])
    assert link.startswith(SITE_URL + "/account/login/"), link
    return link.removeprefix(SITE_URL)


def sign_in(client: FlaskClient, customer: Customer):  # type: ignore[no-untyped-def]
    """Sign `client` in as `customer`: ask for a link, open it, press Sign in."""
    assert request_link(client, customer.email).status_code == 303
    path = emailed_link_path(customer.email)
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


@pytest.fixture
def customer(app: Flask) -> Customer:
    return make_customer("jo@example.com", name="Jo Lifter")


@pytest.fixture
def customer_client(app: Flask, customer: Customer) -> FlaskClient:
    client = app.test_client()
    response = sign_in(client, customer)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
