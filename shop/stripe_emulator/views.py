"""Hosted pages (Checkout, billing portal), the emulator dashboard and its clock endpoints."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from . import billing, subscriptions
from .api import emulator
from .billing import CardDeclined, CardInput, CheckoutInput
from .core import Emulator
from .errors import StripeError
from .objects import describe_term, format_money
from .webhooks import resend

bp = Blueprint("stripe_pages", __name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_NAMES = {
    "AU": "Australia",
    "NZ": "New Zealand",
    "US": "United States",
    "GB": "United Kingdom",
    "CA": "Canada",
    "IE": "Ireland",
    "SG": "Singapore",
    "DE": "Germany",
    "FR": "France",
}
PORTAL_NOTICES = {
    "cancel_scheduled": "Your subscription will end at the end of the current period.",
    "cancel_undone": "Your subscription will continue.",
    "canceled": "Your subscription has been canceled.",
    "switched": "Your plan has been changed. The new price applies from the next billing date.",
    "card_updated": "Your card has been updated.",
}


@bp.app_context_processor
def inject_account_name() -> dict[str, Any]:
    """Every hosted page shows the shop's name in its header."""
    return {"account_name": emulator().account_name}


@bp.app_template_filter("money")
def money_filter(amount: int | None, currency: str | None) -> str:
    """Format minor units for display."""
    return format_money(amount, currency)


@bp.app_template_filter("term")
def term_filter(recurring: dict[str, Any] | None) -> str:
    """``every 3 months``."""
    return describe_term(recurring)


@bp.app_template_filter("date")
def date_filter(timestamp: int | float | None) -> str:
    """A Unix time as a UTC date and time."""
    if timestamp is None:
        return "—"
    return dt.datetime.fromtimestamp(float(timestamp), dt.UTC).strftime("%d %b %Y %H:%M UTC")


def _field(name: str, limit: int = 200) -> str:
    value = request.form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


# -- card parsing shared by checkout and portal --------------------------------------------


def parse_card(em: Emulator, errors: dict[str, str]) -> CardInput | None:
    """Validate the card fields of a hosted form; fills ``errors`` and returns None on failure."""
    number = re.sub(r"[\s-]", "", _field("card_number", 40))
    expiry = _field("card_expiry", 10)
    cvc = _field("card_cvc", 10)
    name = _field("card_name", 120)
    if not number:
        errors["card_number"] = "Your card number is incomplete."
    elif not number.isdigit() or not 13 <= len(number) <= 19 or not billing.luhn_ok(number):
        errors["card_number"] = "Your card number is invalid."
    match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", expiry)
    exp_month = exp_year = 0
    if not match:
        errors["card_expiry"] = "Your card's expiration date is incomplete."
    else:
        exp_month = int(match.group(1))
        exp_year = int(match.group(2))
        if exp_year < 100:
            exp_year += 2000
        today = dt.datetime.fromtimestamp(em.now(), dt.UTC)
        if not 1 <= exp_month <= 12:
            errors["card_expiry"] = "Your card's expiration month is invalid."
        elif (exp_year, exp_month) < (today.year, today.month):
            errors["card_expiry"] = "Your card's expiration year is in the past."
    if not re.fullmatch(r"\d{3,4}", cvc):
        errors["card_cvc"] = "Your card's security code is incomplete."
    if not name:
        errors["card_name"] = "Enter the name on the card."
    if errors:
        return None
    return CardInput(number=number, exp_month=exp_month, exp_year=exp_year, name=name)


# -- checkout -------------------------------------------------------------------------------


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
    coupon_id, _ = billing.session_coupon(em, session, promo["id"] if promo else None)
    subtotal, discount = billing.session_amounts(em, session, coupon_id)
    coupon = em.data["coupons"].get(coupon_id) if coupon_id else None
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


def _find_promo(em: Emulator, code: str) -> dict[str, Any] | None:
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
        key: _field(key)
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
            promo = _find_promo(em, form["promotion_code"])
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
        for key, message in (
            ("shipping_name", "Enter the recipient's name."),
            ("line1", "Enter an address."),
            ("city", "Enter a city or suburb."),
            ("postal_code", "Enter a postcode."),
        ):
            if not form[key]:
                errors[key] = message
        allowed = session["shipping_address_collection"]["allowed_countries"]
        if form["country"] not in allowed:
            errors["country"] = "Choose a country we ship to."
        address = {
            "city": form["city"] or None,
            "country": form["country"] or None,
            "line1": form["line1"] or None,
            "line2": form["line2"] or None,
            "postal_code": form["postal_code"] or None,
            "state": form["state"] or None,
        }
    if errors or card is None:
        return render_template(
            "stripe_emulator/checkout.html", form=form, errors=errors, **context
        ), 400
    try:
        billing.complete_checkout(
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


# -- billing portal -------------------------------------------------------------------------


def _portal_session(em: Emulator, session_id: str) -> dict[str, Any]:
    session = em.data["portal_sessions"].get(session_id)
    if session is None:
        abort(404)
    return session


def _portal_context(em: Emulator, session: dict[str, Any]) -> dict[str, Any]:
    customer = em.data["customers"][session["customer"]]
    rows = []
    for sub in em.ordered("subscriptions", lambda s: s["customer"] == customer["id"]):
        rendered = em.render(sub)
        item = rendered["items"]["data"][0]
        price = item["price"]
        product = em.data["products"].get(price["product"], {})
        alternatives = [
            p
            for p in em.ordered("prices")
            if p["product"] == price["product"]
            and p["active"]
            and p["type"] == "recurring"
            and p["id"] != price["id"]
            and p["currency"] == price["currency"]
        ]
        rows.append(
            {
                "sub": rendered,
                "item": item,
                "price": price,
                "product": product,
                "alternatives": alternatives,
                "pm": em.data["payment_methods"].get(
                    billing.subscription_payment_method(em, sub) or ""
                ),
            }
        )
    default_pm = em.data["payment_methods"].get(
        (customer.get("invoice_settings") or {}).get("default_payment_method") or ""
    )
    invoices = em.ordered(
        "invoices", lambda i: i["customer"] == customer["id"] and i["status"] != "draft"
    )[:12]
    return {
        "session": session,
        "customer": customer,
        "rows": rows,
        "default_pm": default_pm,
        "invoices": invoices,
        "account_name": em.account_name,
        "notice": PORTAL_NOTICES.get(request.args.get("notice", "")),
    }


@bp.route("/p/session/<session_id>", methods=["GET"])
def portal(session_id: str) -> Any:
    """The hosted billing portal for one customer."""
    em = emulator()
    with em.transaction(persist=False), em.request_context(None, None):
        em.tick()
        session = _portal_session(em, session_id)
        return render_template(
            "stripe_emulator/portal.html", errors={}, form={}, **_portal_context(em, session)
        )


def _customer_subscription(em: Emulator, session: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = em.data["subscriptions"].get(sub_id)
    if sub is None or sub["customer"] != session["customer"]:
        abort(404)
    return sub


def _portal_error(
    em: Emulator,
    session: dict[str, Any],
    message: str,
    status: int = 400,
    errors: dict[str, str] | None = None,
) -> Any:
    context = _portal_context(em, session)
    context["notice"] = None
    return render_template(
        "stripe_emulator/portal.html",
        error=message,
        errors=errors or {},
        form={k: _field(k) for k in ("card_expiry", "card_name")},
        **context,
    ), status


@bp.route("/p/session/<session_id>/subscriptions/<sub_id>/<action>", methods=["POST"])
def portal_action(session_id: str, sub_id: str, action: str) -> Any:
    """Cancel (at period end or now), undo a cancellation, or switch price."""
    em = emulator()
    with em.transaction(), em.request_context(None, None):
        session = _portal_session(em, session_id)
        sub = _customer_subscription(em, session, sub_id)
        if action not in ("cancel", "renew", "switch"):
            abort(404)
        try:
            with em.atomic():
                notice = _portal_change(em, sub, action)
        except StripeError as exc:
            return _portal_error(em, session, exc.message)
    return redirect(url_for("stripe_pages.portal", session_id=session_id, notice=notice), code=303)


def _portal_change(em: Emulator, sub: dict[str, Any], action: str) -> str:
    """Apply one portal action; returns the notice key. Raises StripeError for bad choices."""
    if action == "cancel":
        mode = request.form.get("when", "period_end")
        if mode == "now":
            subscriptions.cancel_now(em, sub)
            return "canceled"
        if mode != "period_end":
            raise StripeError(400, "Choose when to cancel.")
        subscriptions.set_cancel_at_period_end(em, sub, True)
        return "cancel_scheduled"
    if action == "renew":
        subscriptions.set_cancel_at_period_end(em, sub, False)
        return "cancel_undone"
    price_id = _field("price", 100)
    price = em.data["prices"].get(price_id)
    current = sub["items"]["data"][0]["price"]
    if (
        price is None
        or price["product"] != current["product"]
        or not price["active"]
        or price["type"] != "recurring"
        or price["id"] == current["id"]
    ):
        raise StripeError(400, "Choose one of the other plans for this product.")
    item_id = sub["items"]["data"][0]["id"]
    subscriptions.apply_update(em, sub, {"items": [{"id": item_id, "price": price_id}]})
    return "switched"


@bp.route("/p/session/<session_id>/card", methods=["POST"])
def portal_card(session_id: str) -> Any:
    """Replace the customer's card; past-due invoices are retried at once."""
    em = emulator()
    with em.transaction(), em.request_context(None, None):
        session = _portal_session(em, session_id)
        errors: dict[str, str] = {}
        card = parse_card(em, errors)
        if card is None:
            return _portal_error(em, session, "Check the card details.", errors=errors)
        outcome, _code, message = billing.card_outcome(card.number)
        if outcome == "decline":
            errors["card_number"] = message or "Your card was declined."
            return _portal_error(em, session, message or "Your card was declined.", 402, errors)
        subs = em.ordered(
            "subscriptions",
            lambda s: (
                s["customer"] == session["customer"]
                and s["status"] not in ("canceled", "incomplete_expired")
            ),
        )
        if subs:
            billing.change_card(em, subs[0], card)
        else:
            customer = em.data["customers"][session["customer"]]
            pm = billing.create_payment_method(em, card, customer["id"])
            previous = {"invoice_settings": dict(customer["invoice_settings"])}
            customer["invoice_settings"]["default_payment_method"] = pm["id"]
            em.emit("customer.updated", customer, previous)
    return redirect(
        url_for("stripe_pages.portal", session_id=session_id, notice="card_updated"), code=303
    )


# -- emulator dashboard and clock -----------------------------------------------------------


def _wants_html() -> bool:
    return request.form.get("from") == "dashboard"


@bp.route("/_emulator/", methods=["GET"])
def dashboard() -> Any:
    """Events, webhook endpoints and deliveries, with the clock."""
    em = emulator()
    with em.lock:
        events = em.render(em.ordered("events")[:100])
        deliveries = em.render(em.ordered("deliveries")[:100])
        endpoints = em.render(em.ordered("webhook_endpoints"))
        now = em.now()
    return render_template(
        "stripe_emulator/dashboard.html",
        events=events,
        deliveries=deliveries,
        endpoints=endpoints,
        now=now,
        account_name=em.account_name,
    )


@bp.route("/_emulator/clock", methods=["GET"])
def clock() -> Response:
    """The emulator's current time as JSON."""
    em = emulator()
    with em.lock:
        now = em.now()
    return jsonify(
        {
            "now": now,
            "iso": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(),
            "offset": em.data["clock"]["offset"],
        }
    )


@bp.route("/_emulator/clock/advance", methods=["POST"])
def advance_clock() -> Any:
    """Advance by ``seconds``/``minutes``/``hours``/``days`` (form or JSON); runs due renewals."""
    values: dict[str, Any] = dict(request.form)
    if request.is_json:
        payload = request.get_json(silent=True)
        if isinstance(payload, dict):
            values.update(payload)
    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    total = 0
    try:
        for key, factor in units.items():
            if values.get(key) not in (None, ""):
                amount = float(values[key]) * factor
                if not math.isfinite(amount) or abs(amount) > 100 * 366 * 86400:  # a century
                    raise ValueError(key)
                total += int(amount)
    except (TypeError, ValueError, OverflowError):
        return jsonify(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "seconds, minutes, hours and days must be numbers.",
                }
            }
        ), 400
    if total <= 0 or total > 10 * 365 * 86400:
        return jsonify(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Advance by a positive amount of time (at most ten years).",
                }
            }
        ), 400
    result = emulator().advance(total)
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify(result)


@bp.route("/_emulator/deliveries/run", methods=["POST"])
def run_deliveries() -> Any:
    """Deliver every pending webhook now, ignoring backoff."""
    attempts = emulator().deliver_pending(force=True)
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"attempts": attempts})


@bp.route("/_emulator/events/<event_id>/resend", methods=["POST"])
def resend_event(event_id: str) -> Any:
    """Queue the event again for every matching endpoint."""
    em = emulator()
    try:
        deliveries = resend(em, event_id)
    except StripeError as exc:
        return jsonify(exc.body()), exc.status
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"queued": [d["id"] for d in deliveries]})


@bp.route("/_emulator/reset", methods=["POST"])
def reset() -> Any:
    """Forget everything (development convenience)."""
    emulator().reset()
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"reset": True})
