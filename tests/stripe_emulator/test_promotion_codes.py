"""Promotion codes on the emulator, as Stripe treats them: one active code per text, a future
expiry, deactivation, deleted coupons, and what Checkout accepts."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator
from tests.stripe_emulator.conftest import make_plan, make_session, path_of, pay


def _code(client: stripe.StripeClient, text: str, **params: Any) -> stripe.PromotionCode:
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "once"})
    return client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": text, **params}
    )


def _apply(pages: Any, running: RunningEmulator, session: Any, text: str) -> Any:
    return pages.post(
        path_of(session.url, running), data={"promotion_code": text, "action": "apply_code"}
    )


def test_an_active_code_text_is_unique_whatever_its_case(stripe_client) -> None:
    first = _code(stripe_client, "WINTER")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _code(stripe_client, "winter")
    assert refused.value.param == "code"
    assert "already exists" in str(refused.value.user_message)
    stripe_client.v1.promotion_codes.update(first.id, params={"active": False})
    again = _code(stripe_client, "Winter")  # the old one is inactive: the text is free
    # ...and the old one cannot come back while the new one is active.
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.promotion_codes.update(first.id, params={"active": True})
    assert stripe_client.v1.promotion_codes.retrieve(again.id).active is True


def test_an_expiry_must_be_in_the_future(stripe_client, running: RunningEmulator) -> None:
    now = running.emulator.now()
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _code(stripe_client, "LATE", expires_at=now - 60)
    assert refused.value.param == "expires_at"
    assert _code(stripe_client, "SOON", expires_at=now + 3600).expires_at == now + 3600


def test_deleting_the_coupon_deactivates_its_codes(stripe_client) -> None:
    code = _code(stripe_client, "GONE")
    stripe_client.v1.coupons.delete(code.promotion.coupon)
    assert stripe_client.v1.promotion_codes.retrieve(code.id).active is False


def test_checkout_refuses_expired_deactivated_used_up_and_foreign_currency_codes(
    stripe_client, pages, running: RunningEmulator
) -> None:
    price = make_plan(stripe_client, amount=5000)
    now = running.emulator.now()
    _code(stripe_client, "EXPIRING", expires_at=now + 3600)
    off = _code(stripe_client, "SWITCHEDOFF")
    stripe_client.v1.promotion_codes.update(off.id, params={"active": False})
    _code(stripe_client, "ONCEONLY", max_redemptions=1)
    usd = stripe_client.v1.coupons.create(
        params={"amount_off": 500, "currency": "usd", "duration": "once"}
    )
    stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": usd.id}, "code": "DOLLARS"}
    )

    session = make_session(stripe_client, price, allow_promotion_codes=True)
    assert _apply(pages, running, session, "EXPIRING").status_code == 200
    assert _apply(pages, running, session, "ONCEONLY").status_code == 200
    for refused in ("SWITCHEDOFF", "DOLLARS"):
        page = _apply(pages, running, session, refused)
        assert page.status_code == 400 and "This code is invalid." in page.get_data(as_text=True)

    # Used once, the one-use code is spent.
    assert pay(pages, running, session, promotion_code="ONCEONLY").status_code == 303
    second = make_session(stripe_client, price, allow_promotion_codes=True)
    assert _apply(pages, running, second, "ONCEONLY").status_code == 400
    # An hour on, the expiring code has expired.
    running.advance(seconds=3601)
    assert _apply(pages, running, second, "EXPIRING").status_code == 400


def _discount_line(page: Any) -> str:
    """The visible text of the order summary's discount line."""
    line = re.search(
        r'<div class="discount"><dt>(.*?)</dt><dd>(.*?)</dd>', page.get_data(as_text=True)
    )
    assert line, "no discount line"
    return html.unescape(f"{line[1]} | {line[2]}")


def test_checkout_names_the_code_once_with_what_it_takes_off(
    stripe_client, pages, running: RunningEmulator
) -> None:
    price = make_plan(stripe_client, amount=5000)
    # Made as the shop's admin makes them: the coupon is named after the code.
    percent = stripe_client.v1.coupons.create(
        params={"percent_off": 20, "duration": "once", "name": "REVIEW20"}
    )
    stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": percent.id}, "code": "REVIEW20"}
    )
    amount = stripe_client.v1.coupons.create(
        params={
            "amount_off": 1000,
            "currency": "aud",
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "TENOFF",
        }
    )
    tenoff = stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": amount.id}, "code": "TENOFF"}
    )
    session = make_session(stripe_client, price, allow_promotion_codes=True)
    assert _discount_line(_apply(pages, running, session, "review20")) == (
        "REVIEW20 — 20% off | −$10.00 AUD"
    )
    assert _discount_line(_apply(pages, running, session, "TENOFF")) == (
        "TENOFF — $10.00 AUD off for 3 months | −$10.00 AUD"
    )
    # A code the session was created with is named the same way, before anything is typed.
    given = make_session(stripe_client, price, discounts=[{"promotion_code": tenoff.id}])
    page = pages.get(path_of(given.url, running))
    assert _discount_line(page) == "TENOFF — $10.00 AUD off for 3 months | −$10.00 AUD"
    # A coupon without a code: its name, or "Discount" when it has none.
    bare = stripe_client.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    plain = make_session(stripe_client, price, discounts=[{"coupon": bare.id}])
    assert (
        _discount_line(pages.get(path_of(plain.url, running))) == "Discount — 50% off | −$25.00 AUD"
    )
