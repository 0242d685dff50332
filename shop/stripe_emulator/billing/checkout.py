"""Checkout Sessions: amounts and discounts, completing a paid session, expiring an open one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import StripeError
from ..objects import build_customer, snapshot
from ..state import State
from .cards import CardDeclined, CardInput, card_outcome, create_payment_method
from .discounts import coupon_amount, create_discount
from .invoices import pay_invoice
from .subscriptions import new_subscription, set_status, start_subscription


@dataclass
class CheckoutInput:
    """What the visitor typed on the hosted checkout page (validated)."""

    email: str
    card: CardInput
    shipping_name: str | None
    address: dict[str, Any] | None
    promotion_code_id: str | None


def session_amounts(em: State, session: dict[str, Any], coupon_id: str | None) -> tuple[int, int]:
    """(subtotal, discount) for a session's line items with an optional coupon."""
    subtotal = sum(
        int(li["amount_subtotal"]) for li in em.data["checkout_line_items"][session["id"]]
    )
    if coupon_id is None:
        return subtotal, 0
    return subtotal, coupon_amount(em.data["coupons"][coupon_id], subtotal)


def session_coupon(
    em: State, session: dict[str, Any], promotion_code_id: str | None
) -> tuple[str | None, str | None]:
    """The (coupon, promotion code) a session will apply."""
    if promotion_code_id:
        promo = em.data["promotion_codes"][promotion_code_id]
        return promo["promotion"]["coupon"], promotion_code_id
    for entry in session.get("discounts") or []:
        if entry.get("promotion_code"):
            promo = em.data["promotion_codes"][entry["promotion_code"]]
            return promo["promotion"]["coupon"], entry["promotion_code"]
        if entry.get("coupon"):
            return entry["coupon"], None
    return None, None


def complete_checkout(em: State, session: dict[str, Any], form: CheckoutInput) -> None:
    """Pay a subscription-mode session: customer, subscription, first invoice, events, complete.

    Raises CardDeclined (nothing is stored) when the card refuses the first charge.
    """
    if session["status"] != "open":
        raise StripeError(400, f"This Checkout Session is {session['status']}.")
    coupon_id, promo_id = session_coupon(em, session, form.promotion_code_id)
    subtotal, discount_amount = session_amounts(em, session, coupon_id)
    behaviour, decline_code, message = card_outcome(form.card.number)
    if behaviour == "decline" and subtotal - discount_amount > 0:
        raise CardDeclined(decline_code or "generic_decline", message or "Your card was declined.")

    shipping = None
    if form.address is not None:
        shipping = {"address": form.address, "name": form.shipping_name}
    if session.get("customer"):
        customer = em.data["customers"][session["customer"]]
        previous: dict[str, Any] = {}
        # As on Stripe, an existing customer's details change only where customer_update
        # allows it ("never" is the default).
        may_update = session.get("_customer_update") or {}
        if (
            shipping is not None
            and may_update.get("shipping") == "auto"
            and customer.get("shipping") != shipping
        ):
            previous["shipping"] = snapshot(customer.get("shipping"))
            customer["shipping"] = snapshot(shipping)
        if not customer.get("name") and form.card.name:
            previous["name"] = None
            customer["name"] = form.card.name
        if previous:
            em.emit("customer.updated", customer, previous)
    else:
        customer = build_customer(em)
        customer["email"] = form.email
        customer["name"] = form.card.name or (shipping or {}).get("name")
        customer["shipping"] = snapshot(shipping)
        if form.address is not None:
            customer["address"] = snapshot(form.address)
        em.insert("customers", customer)
        em.emit("customer.created", customer)

    pm = create_payment_method(em, form.card, customer["id"])
    em.emit("payment_method.attached", pm)
    sub_data = session.get("_subscription_data") or {}
    line_items = [
        {"price": li["price"]["id"], "quantity": li["quantity"]}
        for li in em.data["checkout_line_items"][session["id"]]
    ]
    sub = new_subscription(
        em,
        customer_id=customer["id"],
        line_items=line_items,
        metadata=sub_data.get("metadata") or {},
        description=sub_data.get("description"),
        payment_method=pm["id"],
    )
    if coupon_id:
        discount = create_discount(
            em,
            coupon_id=coupon_id,
            promotion_code_id=promo_id,
            customer_id=customer["id"],
            subscription_id=sub["id"],
            checkout_session_id=session["id"],
        )
        sub["discounts"] = [discount["id"]]
    invoice = start_subscription(em, sub)
    pay_invoice(em, invoice, pm["id"])
    set_status(em, sub, "active")

    session["status"] = "complete"
    session["payment_status"] = "paid"
    session["customer"] = customer["id"]
    session["subscription"] = sub["id"]
    session["invoice"] = invoice["id"]
    session["url"] = None
    session["amount_subtotal"] = subtotal
    session["amount_total"] = subtotal - discount_amount
    session["total_details"] = {
        "amount_discount": discount_amount,
        "amount_shipping": 0,
        "amount_tax": 0,
    }
    if coupon_id:
        session["discounts"] = [
            {"coupon": None if promo_id else coupon_id, "promotion_code": promo_id}
        ]
    session["customer_details"] = {
        "address": snapshot(form.address) if form.address else None,
        "business_name": None,
        "email": form.email,
        "individual_name": None,
        "name": form.card.name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    session["collected_information"] = {
        "business_name": None,
        "individual_name": None,
        "shipping_details": snapshot(shipping),
    }
    for li in em.data["checkout_line_items"][session["id"]]:
        share = round(discount_amount * li["amount_subtotal"] / subtotal) if subtotal else 0
        li["amount_discount"] = share
        li["amount_total"] = li["amount_subtotal"] - share
    em.emit("checkout.session.completed", session)


def expire_session(em: State, session: dict[str, Any]) -> None:
    """Open -> expired; emits checkout.session.expired."""
    session["status"] = "expired"
    session["url"] = None
    em.emit("checkout.session.expired", session)
