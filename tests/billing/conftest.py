"""Billing fixtures: the shop pointed at the Stripe emulator, with its webhook registered."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from shop.stripe_emulator.testing import RunningEmulator
from tests.emulator_fixtures import app_settings, catalogue, pages
from tests.helpers import WEBHOOK_SECRET
from tests.stripe_emulator.conftest import DECLINED_CARD, GOOD_CARD, LATER_FAILS_CARD
from tests.stripe_emulator.conftest import card_form as emulator_card_form

__all__ = [
    "DECLINED_CARD",
    "GOOD_CARD",
    "LATER_FAILS_CARD",
    "WEBHOOK_SECRET",
    "app_settings",
    "catalogue",
    "pages",
]


def deliver(stripe_emulator: RunningEmulator, client: FlaskClient) -> list[tuple[str, int]]:
    """Deliver every pending webhook into the shop, as Stripe would. Returns (type, status)."""
    import json

    delivered: list[tuple[str, int]] = []

    def transport(url: str, payload: bytes | str, headers: dict[str, str]) -> int:
        response = client.post("/webhooks/stripe", data=payload, headers=headers)
        body = payload if isinstance(payload, str) else payload.decode()
        delivered.append((json.loads(body)["type"], response.status_code))
        return response.status_code

    stripe_emulator.emulator.deliver_pending(force=True, transport=transport)
    return delivered


def hosted_path(url: str, stripe_emulator: RunningEmulator) -> str:
    assert url.startswith(stripe_emulator.base_url), url
    return url[len(stripe_emulator.base_url) :]


def card_form(card: str = GOOD_CARD, **overrides: str) -> dict[str, str]:
    """The hosted checkout form as Bea fills it in (an Australian address)."""
    buyer = {"email": "bea@example.com", "card_name": "Bea Buyer", "shipping_name": "Bea Buyer"}
    return emulator_card_form(card, **{**buyer, **overrides})


def subscribe_button(client: FlaskClient, box_slug: str, term_months: int) -> dict[str, Any]:
    """The form data of a box page's Subscribe button for one term."""
    import html
    import re

    page = client.get(f"/boxes/{box_slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the box page"
    from shop.catalog.models import Plan
    from shop.extensions import db

    plan = db.session.scalar(db.select(Plan).where(Plan.lookup_key == f"{box_slug}-{term_months}m"))
    assert plan is not None
    assert f'name="plan_id" value="{plan.id}"' in page
    attempt = re.search(r'name="attempt" value="([^"]+)"', page)
    assert attempt, "no checkout nonce on the box page"
    return {
        "csrf_token": html.unescape(token.group(1)),
        "plan_id": str(plan.id),
        "attempt": attempt.group(1),
    }


def buy(
    client: FlaskClient,
    pages: FlaskClient,
    stripe_emulator: RunningEmulator,
    box_slug: str = "protein-musclebox",
    term_months: int = 3,
    card: str = GOOD_CARD,
    **form: str,
) -> str:
    """Subscribe on the shop, pay on the hosted page; returns the success URL path."""
    response = client.post("/checkout", data=subscribe_button(client, box_slug, term_months))
    assert response.status_code == 303, response.get_data(as_text=True)
    paid = pages.post(
        hosted_path(response.headers["Location"], stripe_emulator), data=card_form(card, **form)
    )
    assert paid.status_code == 303, paid.get_data(as_text=True)
    success = paid.headers["Location"]
    assert success.startswith("http://shop.test/checkout/success?session_id=cs_test_")
    return success.removeprefix("http://shop.test")
