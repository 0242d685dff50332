"""Hostile-input fixtures: the shop on the Stripe emulator with rate limits off, a world of real
rows to aim at, and browsers for each kind of visitor."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.billing.models import BoxStatus
from shop.stripe_emulator.testing import RunningEmulator
from tests.accounts.conftest import sign_in
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_plan,
    make_shipment,
    make_subscription,
)
from tests.builders.content import make_article, make_box, make_comment
from tests.helpers import csrf_token
from tests.hostile.corpus import ADMIN, ANONYMOUS, CUSTOMER, Targets
from tests.hostile.snapshot import comment_stamp

WEBHOOK_SECRET = "whsec_hostile_suite_secret"


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    # The corpus sends hundreds of requests from one address: rate limits have tests of their own.
    return {
        "RATELIMIT_ENABLED": False,
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "STRIPE_API_BASE": stripe_emulator.base_url,
        "STRIPE_WEBHOOK_SECRET": (WEBHOOK_SECRET,),
    }


@pytest.fixture
def article(app: Flask):  # type: ignore[no-untyped-def]
    return make_article("lift", title="Lift", tags=["strength"])


@pytest.fixture
def customer_client(app: Flask) -> FlaskClient:
    customer = make_customer("jo@example.com", name="Jo Lifter")
    client = app.test_client()
    response = sign_in(client, customer)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def clients(
    app: Flask, client: FlaskClient, admin_client: FlaskClient, customer_client: FlaskClient
) -> dict[str, FlaskClient]:
    return {ANONYMOUS: client, ADMIN: admin_client, CUSTOMER: customer_client}


@pytest.fixture
def targets(app: Flask, article, clients: dict[str, FlaskClient]) -> Targets:  # type: ignore[no-untyped-def]
    from shop.accounts.models import Customer
    from shop.extensions import db

    comment = make_comment(article)
    box = make_box("musclebox", "MuscleBox")
    plan = make_plan(box)
    jo = db.session.scalar(db.select(Customer).where(Customer.email == "jo@example.com"))
    subscription = make_subscription(jo, plan)
    held = make_calendar_box(subscription, "2026-11", status=BoxStatus.HELD)
    shipped = make_calendar_box(make_subscription(jo, plan), "2026-12")
    shipment = make_shipment(shipped)
    return Targets(
        article_slug=article.slug,
        tag_slug="strength",
        box_slug=box.slug,
        comment_id=comment.id,
        subscription_id=subscription.id,
        held_box_id=held.id,
        shipment_id=shipment.id,
        plan_id=plan.id,
        csrf={
            ANONYMOUS: csrf_token(clients[ANONYMOUS], "/account/login"),
            CUSTOMER: csrf_token(clients[CUSTOMER], "/account/address"),
            ADMIN: csrf_token(clients[ADMIN], "/admin/comments"),
        },
        comment_stamp=comment_stamp(clients[ANONYMOUS], article.slug),
        webhook_secret=WEBHOOK_SECRET,
    )
