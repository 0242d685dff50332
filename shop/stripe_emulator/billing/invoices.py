"""Invoices of a subscription: draft with lines and discounts, finalize, pay.

Every function emits the events Stripe would, in Stripe's order, and runs with the emulator lock
held by its caller.
"""

from __future__ import annotations

import copy
from typing import Any

from ..objects import list_object, new_id
from ..state import State
from .cards import CardDeclined, charge
from .discounts import coupon_amount, discount_applies


def create_invoice(
    em: State,
    sub: dict[str, Any],
    *,
    billing_reason: str,
    period_start: int,
    period_end: int,
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """Build a draft invoice for the subscription's current item periods, discount applied."""
    now = em.now()
    customer = em.data["customers"][sub["customer"]]
    invoice_id = invoice_id or new_id("in_")
    lines = []
    subtotal = 0
    for item in sub["items"]["data"]:
        price = em.data["prices"][item["price"]["id"]]
        quantity = int(item.get("quantity") or 1)
        amount = int(price["unit_amount"] or 0) * quantity
        subtotal += amount
        product = em.data["products"].get(price["product"], {})
        lines.append(
            {
                "id": new_id("il_"),
                "object": "line_item",
                "amount": amount,
                "currency": price["currency"],
                "description": f"{quantity} \N{MULTIPLICATION SIGN} {product.get('name', 'Item')}",
                "discount_amounts": [],
                "discountable": True,
                "discounts": [],
                "invoice": invoice_id,
                "livemode": False,
                "metadata": dict(sub.get("metadata") or {}),
                "parent": {
                    "invoice_item_details": None,
                    "subscription_item_details": {
                        "invoice_item": None,
                        "proration": False,
                        "proration_details": {"credited_items": None},
                        "subscription": sub["id"],
                        "subscription_item": item["id"],
                    },
                    "type": "subscription_item_details",
                },
                "period": {
                    "end": item["current_period_end"],
                    "start": item["current_period_start"],
                },
                "pretax_credit_amounts": [],
                "pricing": {
                    "price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details",
                    "unit_amount_decimal": str(price["unit_amount"]),
                },
                "quantity": quantity,
                "quantity_decimal": str(quantity),
                "subscription": sub["id"],
                "subtotal": amount,
                "taxes": [],
            }
        )
    discount_ids: list[str] = []
    total_discounts: list[dict[str, Any]] = []
    discount_total = 0
    for discount_id in sub.get("discounts", []):
        discount = em.data["discounts"].get(discount_id)
        if discount is None or not discount_applies(em, discount, now):
            continue
        coupon = em.data["coupons"][discount["source"]["coupon"]]
        amount = coupon_amount(coupon, subtotal - discount_total)
        discount["_uses"] = int(discount["_uses"]) + 1
        discount_ids.append(discount_id)
        discount_total += amount
        total_discounts.append({"amount": amount, "discount": discount_id})
        remaining = amount
        for index, line in enumerate(lines):
            share = (
                remaining
                if index == len(lines) - 1
                else round(amount * line["amount"] / subtotal)
                if subtotal
                else 0
            )
            remaining -= share
            line["discount_amounts"].append({"amount": share, "discount": discount_id})
            line["discounts"].append(discount_id)
            line["pretax_credit_amounts"].append(
                {
                    "amount": share,
                    "credit_balance_transaction": None,
                    "discount": discount_id,
                    "type": "discount",
                }
            )
    total = subtotal - discount_total
    shipping = customer.get("shipping")
    address = customer.get("address")
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "AU",
        "account_name": em.account_name,
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": now,
        "currency": sub["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": copy.deepcopy(address),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": copy.deepcopy(shipping),
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": discount_ids,
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{invoice_id}/lines", total=True),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(sub.get("metadata") or {}),
                "subscription": sub["id"],
                "subscription_proration_date": None,
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "payments": list_object([], f"/v1/invoices/{invoice_id}/payments", total=True),
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "test_clock": None,
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": total_discounts,
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [
            {
                "amount": d["amount"],
                "credit_balance_transaction": None,
                "discount": d["discount"],
                "type": "discount",
            }
            for d in total_discounts
        ],
        "total_taxes": [],
        "webhooks_delivered_at": None,
        "_retry_at": [],
    }
    em.insert("invoices", invoice)
    em.emit("invoice.created", invoice)
    return invoice


def finalize_invoice(em: State, invoice: dict[str, Any]) -> None:
    """Draft -> open with a number; emits invoice.finalized."""
    customer = em.data["customers"][invoice["customer"]]
    sequence = int(customer.get("next_invoice_sequence") or 1)
    customer["next_invoice_sequence"] = sequence + 1
    invoice["number"] = f"{customer['invoice_prefix']}-{sequence:04d}"
    invoice["status"] = "open"
    invoice["effective_at"] = em.now()
    invoice["status_transitions"]["finalized_at"] = em.now()
    invoice["hosted_invoice_url"] = None
    em.emit("invoice.finalized", invoice)


def pay_invoice(em: State, invoice: dict[str, Any], pm_id: str | None) -> bool:
    """Try to collect an open invoice; emits paid/payment_succeeded or payment_failed."""
    now = em.now()
    invoice["attempted"] = True
    try:
        charge(em, pm_id, int(invoice["amount_remaining"]))
    except CardDeclined:
        invoice["attempt_count"] = int(invoice["attempt_count"]) + 1
        invoice["next_payment_attempt"] = invoice["_retry_at"][0] if invoice["_retry_at"] else None
        em.emit("invoice.payment_failed", invoice)
        return False
    if int(invoice["amount_remaining"]) > 0:
        invoice["attempt_count"] = int(invoice["attempt_count"]) + 1
    amount = int(invoice["amount_remaining"])
    invoice["amount_paid"] = int(invoice["amount_paid"]) + amount
    invoice["amount_remaining"] = 0
    invoice["status"] = "paid"
    invoice["next_payment_attempt"] = None
    invoice["_retry_at"] = []
    invoice["status_transitions"]["paid_at"] = now
    if amount > 0:
        payments = invoice["payments"]["data"]
        payments.append(
            {
                "id": new_id("inpay_"),
                "object": "invoice_payment",
                "amount_paid": amount,
                "amount_requested": amount,
                "created": now,
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"payment_intent": new_id("pi_"), "type": "payment_intent"},
                "status": "paid",
                "status_transitions": {"canceled_at": None, "paid_at": now},
            }
        )
        invoice["payments"]["total_count"] = len(payments)
    em.emit("invoice.paid", invoice)
    em.emit("invoice.payment_succeeded", invoice)
    return True
