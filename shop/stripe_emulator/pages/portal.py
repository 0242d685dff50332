"""The hosted billing portal (``/p/session/<portal session id>``) for one customer.

What a customer can do here, as in a Stripe portal configured with several products: cancel (at
the period end or now) and undo it; switch to any other active recurring price in the same
currency (no proration: the new price bills from the next period); replace the card (past-due
invoices are retried at once); change the shipping address (it becomes the billing address too).
Each change emits the events Stripe would and redirects back with a notice.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from ..api import emulator
from ..billing.cards import card_outcome, create_payment_method
from ..billing.customers import change_shipping_address
from ..billing.renewals import change_card
from ..billing.subscription_changes import cancel_now, set_cancel_at_period_end, switch_price
from ..billing.subscriptions import subscription_payment_method
from ..core import Emulator
from ..errors import StripeError
from .blueprint import bp, form_value
from .fields import ADDRESS_FORM_FIELDS, COUNTRY_NAMES, parse_address_form, parse_card

PORTAL_NOTICES = {
    "cancel_scheduled": "Your subscription will end at the end of the current period.",
    "cancel_undone": "Your subscription will continue.",
    "canceled": "Your subscription has been canceled.",
    "switched": "Your plan has been changed. The new price applies from the next billing date.",
    "card_updated": "Your card has been updated.",
    "address_updated": "Your shipping address has been updated.",
}
_INTERVAL_ORDER = {"day": 0, "week": 1, "month": 2, "year": 3}


def plan_choices(em: Emulator, current: dict[str, Any]) -> list[dict[str, Any]]:
    """The prices a subscription on ``current`` may switch to: every other active recurring price
    in its currency whose product is active, by product name, then term, then amount."""
    products = em.data["products"]

    def offered(price: dict[str, Any]) -> bool:
        product = products.get(price["product"])
        return (
            price["active"]
            and price["type"] == "recurring"
            and price["currency"] == current["currency"]
            and price["id"] != current["id"]
            and product is not None
            and product["active"]
            and not product.get("deleted")
        )

    def order(price: dict[str, Any]) -> tuple[str, int, int, int]:
        recurring = price["recurring"]
        return (
            products[price["product"]]["name"].lower(),
            _INTERVAL_ORDER.get(recurring["interval"], 9),
            int(recurring["interval_count"]),
            int(price["unit_amount"] or 0),
        )

    return sorted((p for p in em.data["prices"].values() if offered(p)), key=order)


def _plan_groups(em: Emulator, current: dict[str, Any]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for price in plan_choices(em, current):
        name = em.data["products"][price["product"]]["name"]
        if not groups or groups[-1]["product"] != price["product"]:
            groups.append({"product": price["product"], "name": name, "prices": []})
        groups[-1]["prices"].append(em.render(price))
    return groups


def _address_form(customer: dict[str, Any]) -> dict[str, str]:
    """The address form as the customer's current shipping details fill it."""
    shipping = customer.get("shipping") or {}
    address = shipping.get("address") or customer.get("address") or {}
    form = {key: address.get(key) or "" for key in ADDRESS_FORM_FIELDS if key != "shipping_name"}
    form["shipping_name"] = shipping.get("name") or customer.get("name") or ""
    return form


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
        rows.append(
            {
                "sub": rendered,
                "item": item,
                "price": price,
                "product": product,
                "plan_groups": _plan_groups(em, price),
                "pm": em.data["payment_methods"].get(subscription_payment_method(em, sub) or ""),
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
        "countries": list(COUNTRY_NAMES.items()),
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
        context = _portal_context(em, session)
        return render_template(
            "stripe_emulator/portal.html",
            errors={},
            form=_address_form(context["customer"]),
            **context,
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
    typed: tuple[str, ...] = ("card_expiry", "card_name"),
) -> Any:
    """The portal again with ``message`` on top, ``errors`` by their fields, and what the
    customer typed into the ``typed`` fields kept (the other forms show the stored values)."""
    context = _portal_context(em, session)
    context["notice"] = None
    form = _address_form(context["customer"])
    form.update({key: form_value(key) for key in typed})
    return render_template(
        "stripe_emulator/portal.html",
        error=message,
        errors=errors or {},
        form=form,
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
            cancel_now(em, sub)
            return "canceled"
        if mode != "period_end":
            raise StripeError(400, "Choose when to cancel.")
        set_cancel_at_period_end(em, sub, True)
        return "cancel_scheduled"
    if action == "renew":
        set_cancel_at_period_end(em, sub, False)
        return "cancel_undone"
    price_id = form_value("price", 100)
    current = sub["items"]["data"][0]["price"]
    if price_id not in {p["id"] for p in plan_choices(em, current)}:
        raise StripeError(400, "Choose one of the other plans.")
    switch_price(em, sub, price_id)
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
        outcome, _code, message = card_outcome(card.number)
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
            change_card(em, subs[0], card)
        else:
            customer = em.data["customers"][session["customer"]]
            pm = create_payment_method(em, card, customer["id"])
            previous = {"invoice_settings": dict(customer["invoice_settings"])}
            customer["invoice_settings"]["default_payment_method"] = pm["id"]
            em.emit("customer.updated", customer, previous)
    return redirect(
        url_for("stripe_pages.portal", session_id=session_id, notice="card_updated"), code=303
    )


@bp.route("/p/session/<session_id>/address", methods=["POST"])
def portal_address(session_id: str) -> Any:
    """Change the customer's shipping address (and billing address); emits customer.updated."""
    em = emulator()
    with em.transaction(), em.request_context(None, None):
        session = _portal_session(em, session_id)
        form = {key: form_value(key) for key in ADDRESS_FORM_FIELDS}
        errors: dict[str, str] = {}
        address = parse_address_form(form, list(COUNTRY_NAMES), errors)
        if errors:
            return _portal_error(
                em, session, "Check the shipping address.", errors=errors, typed=tuple(form)
            )
        customer = em.data["customers"][session["customer"]]
        change_shipping_address(em, customer, form["shipping_name"], address)
    return redirect(
        url_for("stripe_pages.portal", session_id=session_id, notice="address_updated"), code=303
    )
