"""Promotion codes made straight in the Stripe emulator (as another admin, or Stripe's
dashboard, would have made them), and the admin's new-code form as a browser sends it."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient

from shop.stripe_emulator.testing import RunningEmulator

_HIDDEN = re.compile(r'name="(csrf_token|submission)"[^>]*value="([^"]+)"')


def make_promotion_codes(
    stripe_emulator: RunningEmulator, number: int, *, prefix: str = "CODE"
) -> list[str]:
    """`number` codes in every state the list shows: active, with limits and expiries, a
    fixed amount, and every fifth one deactivated. Returns their texts, oldest first."""
    stripe = stripe_emulator.client()
    now = stripe_emulator.emulator.now()
    texts = []
    for n in range(number):
        params: dict[str, Any] = {"duration": ("once", "repeating", "forever")[n % 3]}
        if n % 3 == 1:
            params["duration_in_months"] = 1 + n % 6
        if n % 2:
            params.update(amount_off=500 + n, currency="aud")
        else:
            params["percent_off"] = 5 + n % 50
        coupon = stripe.v1.coupons.create(params=params)
        code_params: dict[str, Any] = {
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "code": f"{prefix}{n:03d}",
        }
        if n % 4 == 0:
            code_params["max_redemptions"] = 10 + n
        if n % 4 == 1:
            code_params["expires_at"] = now + 86400 * (1 + n)
        promo = stripe.v1.promotion_codes.create(params=code_params)
        if n % 5 == 4:
            stripe.v1.promotion_codes.update(promo.id, params={"active": False})
        texts.append(promo.code)
    return texts


def new_code_form(client: FlaskClient, **fields: str) -> dict[str, str]:
    """The new-code form as the page gives it (CSRF token, submission), with `fields` typed."""
    page = client.get("/admin/promotions/new")
    assert page.status_code == 200, page.status_code
    hidden = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.get_data(True))}
    assert set(hidden) == {"csrf_token", "submission"}, hidden
    data = {
        **hidden,
        "code": "WINTER20",
        "kind": "percent",
        "percent_off": "20",
        "amount_off": "",
        "duration": "once",
        "duration_in_months": "",
        "expires_at": "",
        "max_redemptions": "",
    }
    data.update(fields)
    return data
