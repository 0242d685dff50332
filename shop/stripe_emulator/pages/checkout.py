"""Hosted Checkout (``/c/pay/<session id>``): the order, card and address, pay or decline.

Field names (``email``, ``card_number``, ``card_expiry``, ``card_cvc``, ``card_name``,
``shipping_name``, ``line1``, ``line2``, ``city``, ``state``, ``postal_code``, ``country``,
``promotion_code``, ``action``) are what the shop's tests post.
"""

from __future__ import annotations

import re
from typing import Any

from flask import redirect, render_template, request

from ..api import emulator
from ..billing.cards import CardDeclined
from ..billing.checkout import CheckoutInput, complete_checkout, session_amounts, session_coupon
from ..core import Emulator
from ..errors import StripeError
from .blueprint import bp, form_value
from .fields import COUNTRY_NAMES, parse_address_form, parse_card

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _checkout_context(
    em: Emulator, session: dict[str, Any], promo: dict[str, Any] | None
) -> dict[str, Any]:
    items = []
    for li in em.data["checkout_line_items"].get(session["id"], []):
        product = em.data["products"].get(li["price"]["product"], {})
        items.append(
            {
                "name": product.get("name", li.get("description")),
                "description": product.get("description"),
                "quantity": li["quantity"],
                "price": li["price"],
                "amount": li["amount_subtotal"],
            }
        )
    # The code typed here, or one the session was created with (``discounts``).
    coupon_id, promo_id = session_coupon(em, session, promo["id"] if promo else None)
    subtotal, discount = session_amounts(em, session, coupon_id)
    coupon = em.data["coupons"].get(coupon_id) if coupon_id else None
    promo = em.data["promotion_codes"].get(promo_id) if promo_id else None
    customer = em.data["customers"].get(session["customer"]) if session.get("customer") else None
    fixed_email = (customer or {}).get("email") or session.get("customer_email")
    allowed = (session.get("shipping_address_collection") or {}).get("allowed_countries") or []
    return {
        "session": session,
        "items": items,
        "subtotal": subtotal,
        "discount": discount,
        "total": subtotal - discount,
        "coupon": coupon,
        "promo": promo,
        "currency": session.get("currency"),
        "fixed_email": fixed_email,
        "countries": [(code, COUNTRY_NAMES.get(code, code)) for code in allowed],
        "account_name": em.account_name,
    }


def _find_promo(em: Emulator, code: str, currency: str | None) -> dict[str, Any] | None:
    """The code a customer typed, if Stripe would accept it now for a purchase in `currency`:
    active, its coupon valid, not expired, not used up, and an amount off in that currency."""
    now = em.now()
    for promo in em.data["promotion_codes"].values():
        if promo["code"].lower() != code.lower() or not promo["active"]:
            continue
        coupon = em.data["coupons"].get(promo["promotion"]["coupon"])
        if coupon is None or not coupon["valid"] or coupon.get("deleted"):
            continue
        if promo.get("expires_at") and int(promo["expires_at"]) <= now:
            continue
        if coupon.get("redeem_by") and int(coupon["redeem_by"]) <= now:
            continue
        if promo.get("max_redemptions") and int(promo["times_redeemed"]) >= int(
            promo["max_redemptions"]
        ):
            continue
        if coupon.get("amount_off") is not None and currency and coupon.get("currency") != currency:
            continue
        return promo
    return None


@bp.route("/c/pay/<session_id>", methods=["GET", "POST"])
def checkout(session_id: str) -> Any:
    """The hosted Checkout page: show the order, take card and address, pay or decline."""
    em = emulator()
    with em.transaction(persist=request.method == "POST"), em.request_context(None, None):
        em.tick()
        session = em.data["checkout_sessions"].get(session_id)
        if session is None:
            return render_template(
                "stripe_emulator/message.html",
                title="Checkout not found",
                message="This checkout link is not valid.",
                link=None,
            ), 404
        if session["status"] != "open":
            message = (
                "This checkout session has already been paid."
                if session["status"] == "complete"
                else "This checkout session has expired. Please return to the shop and start again."
            )
            link = (
                _success_url(session)
                if session["status"] == "complete"
                else session.get("cancel_url")
            )
            return render_template(
                "stripe_emulator/message.html",
                title="Checkout unavailable",
                message=message,
                link=link,
            ), 409 if request.method == "POST" else 200
        if request.method == "GET":
            return render_template(
                "stripe_emulator/checkout.html",
                form={},
                errors={},
                **_checkout_context(em, session, None),
            )
        return _submit_checkout(em, session)


def _success_url(session: dict[str, Any]) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])


def _submit_checkout(em: Emulator, session: dict[str, Any]) -> Any:
    form = {
        key: form_value(key)
        for key in (
            "email",
            "card_number",
            "card_expiry",
            "card_cvc",
            "card_name",
            "shipping_name",
            "line1",
            "line2",
            "city",
            "state",
            "postal_code",
            "country",
            "promotion_code",
        )
    }
    errors: dict[str, str] = {}
    promo = None
    if form["promotion_code"]:
        if not session.get("allow_promotion_codes"):
            errors["promotion_code"] = "Promotion codes are not accepted for this purchase."
        else:
            promo = _find_promo(em, form["promotion_code"], session.get("currency"))
            if promo is None:
                errors["promotion_code"] = "This code is invalid."
    context = _checkout_context(em, session, promo)
    if request.form.get("action") == "apply_code":
        if not form["promotion_code"]:
            errors["promotion_code"] = "Enter a promotion code."
        status = 400 if errors else 200
        return render_template(
            "stripe_emulator/checkout.html", form=form, errors=errors, **context
        ), status

    email = context["fixed_email"] or form["email"]
    if not context["fixed_email"] and not EMAIL_RE.match(email):
        errors["email"] = (
            "Your email address is incomplete." if not email else "Your email address is invalid."
        )
    card = parse_card(em, errors)
    address = None
    if session.get("shipping_address_collection"):
        allowed = session["shipping_address_collection"]["allowed_countries"]
        address = parse_address_form(form, allowed, errors)
    if errors or card is None:
        return render_template(
            "stripe_emulator/checkout.html", form=form, errors=errors, **context
        ), 400
    try:
        complete_checkout(
            em,
            session,
            CheckoutInput(
                email=email,
                card=card,
                shipping_name=form["shipping_name"] or None,
                address=address,
                promotion_code_id=promo["id"] if promo else None,
            ),
        )
    except CardDeclined as exc:
        errors["card_number"] = exc.message
        return render_template(
            "stripe_emulator/checkout.html", form=form, errors=errors, declined=True, **context
        ), 402
    except StripeError as exc:
        return render_template(
            "stripe_emulator/message.html",
            title="Checkout unavailable",
            message=exc.message,
            link=session.get("cancel_url"),
        ), 409
    return redirect(_success_url(session), code=303)
