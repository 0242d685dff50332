"""Billing behaviour: test cards, subscriptions, invoices, discounts, checkout and renewals.

Every function here runs with the emulator lock held by its caller and emits the events Stripe
would, in Stripe's order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .core import Emulator, new_id
from .errors import StripeError
from .objects import add_interval, build_customer, empty_address, list_object, plan_from_price

DAY = 86400

# number -> (behaviour, decline_code, message). "fail_later": the first charge succeeds, later fail.
TEST_CARDS: dict[str, tuple[str, str | None, str | None]] = {
    "4242424242424242": ("ok", None, None),
    "4000056655665556": ("ok", None, None),
    "5555555555554444": ("ok", None, None),
    "2223003122003222": ("ok", None, None),
    "378282246310005": ("ok", None, None),
    "4000000360000006": ("ok", None, None),
    "4000000000000341": ("fail_later", "generic_decline", "Your card was declined."),
    "4000000000000002": ("decline", "generic_decline", "Your card was declined."),
    "4000000000009995": ("decline", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("decline", "lost_card", "Your card was declined."),
    "4000000000000069": ("decline", "expired_card", "Your card has expired."),
    "4000000000000127": ("decline", "incorrect_cvc", "Your card's security code is incorrect."),
}


# Stripe's test-mode PaymentMethod ids that stand for a test card.
MAGIC_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
}


class CardDeclined(Exception):
    """A test card refused a charge; carries Stripe's decline code and message."""

    def __init__(self, decline_code: str, message: str) -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.message = message


def luhn_ok(number: str) -> bool:
    """Whether a digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """The card brand implied by the number's prefix."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:2] == "22":
        return "mastercard"
    return "unknown"


@dataclass
class CardInput:
    """A card as typed into a hosted page (already validated for shape)."""

    number: str
    exp_month: int
    exp_year: int
    name: str | None = None


def card_outcome(number: str) -> tuple[str, str | None, str | None]:
    """What a test card does: ok, fail_later or decline (with code and message)."""
    if number in TEST_CARDS:
        return TEST_CARDS[number]
    return (
        "decline",
        "test_mode_live_card",
        "Your card was declined. Your request was in test mode, but used a non test card. "
        "For a list of valid test cards, visit: https://docs.stripe.com/testing.",
    )


def create_payment_method(em: Emulator, card: CardInput, customer_id: str | None) -> dict[str, Any]:
    """Store a card payment method (attached to ``customer_id`` when given)."""
    behaviour, decline_code, message = card_outcome(card.number)
    pm = {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "always",
        "billing_details": {
            "address": empty_address(),
            "email": None,
            "name": card.name,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card_brand(card.number),
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": card_brand(card.number),
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": new_id("", 16),
            "funding": "credit",
            "last4": card.number[-4:],
            "networks": {"available": [card_brand(card.number)], "preferred": None},
            "wallet": None,
        },
        "created": em.now(),
        "customer": customer_id,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
        "_behaviour": behaviour,
        "_decline_code": decline_code,
        "_decline_message": message,
        "_charges": 0,
    }
    return em.insert("payment_methods", pm)


def resolve_payment_method(em: Emulator, pm_id: str, customer_id: str, param: str) -> str:
    """A stored payment method id for ``customer_id``: magic test ids become real cards.

    Raises 404 for unknown ids and 400 when the card belongs to another customer.
    """
    if pm_id in MAGIC_PAYMENT_METHODS:
        number = MAGIC_PAYMENT_METHODS[pm_id]
        pm = create_payment_method(em, CardInput(number, 12, 2034, None), customer_id)
        em.emit("payment_method.attached", pm)
        return str(pm["id"])
    pm = em.get("payment_methods", pm_id, "PaymentMethod", param)
    if pm["customer"] not in (None, customer_id):
        raise StripeError(
            400,
            f"The payment method `{pm_id}` belongs to another customer.",
            param=param,
        )
    if pm["customer"] is None:
        pm["customer"] = customer_id
        em.emit("payment_method.attached", pm)
    return str(pm["id"])


def charge(em: Emulator, pm_id: str | None, amount: int) -> None:
    """Charge a payment method; raise CardDeclined per its test card behaviour."""
    if amount <= 0:
        return
    pm = em.data["payment_methods"].get(pm_id) if pm_id else None
    if pm is None:
        raise CardDeclined("no_payment_method", "The customer has no default payment method.")
    behaviour = pm["_behaviour"]
    first = pm["_charges"] == 0
    if behaviour == "decline" or (behaviour == "fail_later" and not first):
        raise CardDeclined(
            pm["_decline_code"] or "generic_decline",
            pm["_decline_message"] or "Your card was declined.",
        )
    pm["_charges"] += 1


# -- discounts ------------------------------------------------------------------------------


def coupon_amount(coupon: dict[str, Any], subtotal: int) -> int:
    """The discount a coupon gives on ``subtotal`` (never more than the subtotal)."""
    if coupon.get("percent_off") is not None:
        return min(subtotal, round(subtotal * float(coupon["percent_off"]) / 100))
    return min(subtotal, int(coupon.get("amount_off") or 0))


def create_discount(
    em: Emulator,
    *,
    coupon_id: str,
    promotion_code_id: str | None,
    customer_id: str,
    subscription_id: str | None,
    checkout_session_id: str | None,
) -> dict[str, Any]:
    """Store the discount a coupon grants to a subscription and count the redemption."""
    coupon = em.data["coupons"][coupon_id]
    start = em.now()
    end = None
    if coupon["duration"] == "repeating" and coupon.get("duration_in_months"):
        end = add_interval(start, "month", int(coupon["duration_in_months"]))
    discount = {
        "id": new_id("di_"),
        "object": "discount",
        "checkout_session": checkout_session_id,
        "customer": customer_id,
        "customer_account": None,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promotion_code_id,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": subscription_id,
        "subscription_item": None,
        "_uses": 0,
    }
    coupon["times_redeemed"] = int(coupon["times_redeemed"]) + 1
    if coupon.get("max_redemptions") and coupon["times_redeemed"] >= int(coupon["max_redemptions"]):
        coupon["valid"] = False
    if promotion_code_id:
        promo = em.data["promotion_codes"][promotion_code_id]
        promo["times_redeemed"] = int(promo["times_redeemed"]) + 1
    return em.insert("discounts", discount)


def discount_applies(em: Emulator, discount: dict[str, Any], at: int) -> bool:
    """Whether a subscription discount still applies to an invoice created at ``at``."""
    coupon = em.data["coupons"].get(discount["source"]["coupon"])
    if coupon is None:
        return False
    if coupon["duration"] == "once":
        return int(discount["_uses"]) == 0
    if coupon["duration"] == "repeating":
        return discount["end"] is None or at < int(discount["end"])
    return True


# -- invoices -------------------------------------------------------------------------------


def create_invoice(
    em: Emulator,
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


def finalize_invoice(em: Emulator, invoice: dict[str, Any]) -> None:
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


def pay_invoice(em: Emulator, invoice: dict[str, Any], pm_id: str | None) -> bool:
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


def subscription_payment_method(em: Emulator, sub: dict[str, Any]) -> str | None:
    """The card a subscription charges: its own default, else the customer's."""
    if sub.get("default_payment_method"):
        return sub["default_payment_method"]
    customer = em.data["customers"].get(sub["customer"], {})
    return (customer.get("invoice_settings") or {}).get("default_payment_method")


# -- subscriptions --------------------------------------------------------------------------


def snapshot(obj: Any) -> Any:
    """A deep copy for ``previous_attributes``."""
    return copy.deepcopy(obj)


def new_subscription(
    em: Emulator,
    *,
    customer_id: str,
    line_items: list[dict[str, Any]],
    metadata: dict[str, str],
    description: str | None,
    payment_method: str | None,
) -> dict[str, Any]:
    """Store an ``incomplete`` subscription whose items start a period now."""
    now = em.now()
    sub_id = new_id("sub_")
    items = []
    currency = None
    for line in line_items:
        price = em.data["prices"][line["price"]]
        currency = price["currency"]
        recurring = price["recurring"]
        items.append(
            {
                "id": new_id("si_", 14),
                "object": "subscription_item",
                "billed_until": None,
                "billing_thresholds": None,
                "created": now,
                "current_period_end": add_interval(
                    now, recurring["interval"], int(recurring["interval_count"])
                ),
                "current_period_start": now,
                "current_trial": None,
                "discounts": [],
                "metadata": {},
                "plan": plan_from_price(price),
                "price": {k: v for k, v in price.items() if not k.startswith("_")},
                "quantity": int(line["quantity"]),
                "subscription": sub_id,
                "tax_rates": [],
            }
        )
    sub = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "included"},
            "type": "flexible",
            "updated_at": now,
        },
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(items, f"/v1/subscription_items?subscription={sub_id}", total=True),
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "status_details": None,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    return em.insert("subscriptions", sub)


def start_subscription(em: Emulator, sub: dict[str, Any]) -> dict[str, Any]:
    """Announce a new subscription and issue its first (finalized, unpaid) invoice."""
    invoice_id = new_id("in_")
    sub["latest_invoice"] = invoice_id
    em.emit("customer.subscription.created", sub)
    start = int(sub["start_date"])
    invoice = create_invoice(
        em,
        sub,
        billing_reason="subscription_create",
        period_start=start,
        period_end=start,
        invoice_id=invoice_id,
    )
    finalize_invoice(em, invoice)
    return invoice


def period_end(sub: dict[str, Any]) -> int:
    """The end of the subscription's current period (earliest item)."""
    return min(int(item["current_period_end"]) for item in sub["items"]["data"])


def set_status(em: Emulator, sub: dict[str, Any], status: str, **changes: Any) -> None:
    """Change status (and other top-level fields) emitting customer.subscription.updated."""
    previous = {"status": sub["status"]}
    for key in changes:
        previous[key] = snapshot(sub.get(key))
    sub["status"] = status
    sub.update(changes)
    em.emit("customer.subscription.updated", sub, previous)


def end_subscription(em: Emulator, sub: dict[str, Any], reason: str) -> None:
    """Cancel now: status canceled, ended; emits customer.subscription.deleted."""
    now = em.now()
    sub["status"] = "canceled"
    sub["ended_at"] = now
    sub["canceled_at"] = sub.get("canceled_at") or now
    sub["cancellation_details"]["reason"] = reason
    for invoice in em.data["invoices"].values():
        if invoice["parent"]["subscription_details"]["subscription"] == sub["id"]:
            invoice["_retry_at"] = []
            invoice["next_payment_attempt"] = None
    em.emit("customer.subscription.deleted", sub)


def next_period_end(anchor: int, interval: str, count: int, now: int) -> int:
    """The first period boundary after `now`, counted from the billing anchor as Stripe does
    (a subscription begun on 31 January renews on the 28th, then the 31st of March)."""
    periods = 1
    while (end := add_interval(anchor, interval, count * periods)) <= now:
        periods += 1
    return end


def renew(em: Emulator, sub: dict[str, Any]) -> None:
    """Handle the period boundary now: end a cancelling subscription or bill the next period."""
    now = em.now()
    if sub.get("cancel_at") is not None and int(sub["cancel_at"]) <= now:
        end_subscription(
            em, sub, sub["cancellation_details"].get("reason") or "cancellation_requested"
        )
        return
    previous = {"items": snapshot(sub["items"]), "latest_invoice": sub["latest_invoice"]}
    old_start = min(int(i["current_period_start"]) for i in sub["items"]["data"])
    for item in sub["items"]["data"]:
        price = em.data["prices"][item["price"]["id"]]
        recurring = price["recurring"]
        item["current_period_start"] = now
        item["current_period_end"] = next_period_end(
            int(sub.get("billing_cycle_anchor") or old_start),
            recurring["interval"],
            int(recurring["interval_count"]),
            now,
        )
    invoice = create_invoice(
        em, sub, billing_reason="subscription_cycle", period_start=old_start, period_end=now
    )
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.updated", sub, previous)
    pause = sub.get("pause_collection")
    if pause:
        behaviour = pause.get("behavior")
        if behaviour == "keep_as_draft":
            return
        finalize_invoice(em, invoice)
        if behaviour == "void":
            invoice["status"] = "void"
            invoice["amount_remaining"] = 0
            invoice["status_transitions"]["voided_at"] = now
            em.emit("invoice.voided", invoice)
        else:
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = now
            em.emit("invoice.marked_uncollectible", invoice)
        return
    finalize_invoice(em, invoice)
    collect(em, sub, invoice, first_attempt=True)


def collect(
    em: Emulator, sub: dict[str, Any], invoice: dict[str, Any], *, first_attempt: bool
) -> bool:
    """Attempt an invoice of ``sub`` and move the subscription between active/past_due/canceled."""
    now = em.now()
    if first_attempt:
        invoice["_retry_at"] = [now + days * DAY for days in em.payment_retry_days]
    else:
        invoice["_retry_at"] = invoice["_retry_at"][1:]
    paid = pay_invoice(em, invoice, subscription_payment_method(em, sub))
    if paid:
        if sub["status"] == "past_due" and not open_invoices(em, sub):
            set_status(em, sub, "active")
        return True
    if sub["status"] == "active":
        set_status(em, sub, "past_due")
    if not first_attempt and not invoice["_retry_at"]:
        end_subscription(em, sub, "payment_failed")
    return False


def open_invoices(em: Emulator, sub: dict[str, Any]) -> list[dict[str, Any]]:
    """Unpaid, finalized invoices of a subscription."""
    return [
        inv
        for inv in em.data["invoices"].values()
        if inv["status"] == "open"
        and inv["parent"]["subscription_details"]["subscription"] == sub["id"]
    ]


def retry_open_invoices(em: Emulator, sub: dict[str, Any]) -> None:
    """After a card change: try the subscription's open invoices again at once."""
    for invoice in sorted(open_invoices(em, sub), key=lambda i: i["created"]):
        invoice["_retry_at"] = [em.now(), *invoice["_retry_at"]]
        collect(em, sub, invoice, first_attempt=False)
        if sub["status"] == "canceled":
            return


def expire_session(em: Emulator, session: dict[str, Any]) -> None:
    """Open -> expired; emits checkout.session.expired."""
    session["status"] = "expired"
    session["url"] = None
    em.emit("checkout.session.expired", session)


def process_due(em: Emulator, target: int) -> int:
    """Run every renewal, payment retry and session expiry due up to ``target``, in time order."""
    processed = 0
    for _ in range(100_000):
        due = _next_due(em)
        if due is None or due[0] > target:
            break
        timestamp, kind, obj_id = due
        with em.pinned(max(timestamp, em.data["clock"]["last"])):
            if kind == "renew":
                renew(em, em.data["subscriptions"][obj_id])
            elif kind == "retry":
                invoice = em.data["invoices"][obj_id]
                sub = em.data["subscriptions"][
                    invoice["parent"]["subscription_details"]["subscription"]
                ]
                collect(em, sub, invoice, first_attempt=False)
            else:
                expire_session(em, em.data["checkout_sessions"][obj_id])
            em.data["clock"]["last"] = max(int(em.data["clock"]["last"]), timestamp)
        processed += 1
    return processed


def _next_due(em: Emulator) -> tuple[int, str, str] | None:
    candidates: list[tuple[int, int, str, str]] = []
    for sub in em.data["subscriptions"].values():
        if sub["status"] in ("active", "past_due"):
            boundary = period_end(sub)
            if sub.get("cancel_at") is not None:
                boundary = min(boundary, int(sub["cancel_at"]))
            candidates.append((boundary, 0, "renew", sub["id"]))
    for invoice in em.data["invoices"].values():
        if invoice["status"] == "open" and invoice.get("_retry_at"):
            candidates.append((int(invoice["_retry_at"][0]), 1, "retry", invoice["id"]))
    for session in em.data["checkout_sessions"].values():
        if session["status"] == "open":
            candidates.append((int(session["expires_at"]), 2, "expire", session["id"]))
    if not candidates:
        return None
    timestamp, _order, kind, obj_id = min(candidates)
    return timestamp, kind, obj_id


# -- checkout -------------------------------------------------------------------------------


@dataclass
class CheckoutInput:
    """What the visitor typed on the hosted checkout page (validated)."""

    email: str
    card: CardInput
    shipping_name: str | None
    address: dict[str, Any] | None
    promotion_code_id: str | None


def session_amounts(
    em: Emulator, session: dict[str, Any], coupon_id: str | None
) -> tuple[int, int]:
    """(subtotal, discount) for a session's line items with an optional coupon."""
    subtotal = sum(
        int(li["amount_subtotal"]) for li in em.data["checkout_line_items"][session["id"]]
    )
    if coupon_id is None:
        return subtotal, 0
    return subtotal, coupon_amount(em.data["coupons"][coupon_id], subtotal)


def session_coupon(
    em: Emulator, session: dict[str, Any], promotion_code_id: str | None
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


def complete_checkout(em: Emulator, session: dict[str, Any], form: CheckoutInput) -> None:
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


def change_card(em: Emulator, sub: dict[str, Any], card: CardInput) -> dict[str, Any]:
    """Portal "update card": new default card for the customer and subscription; retry debts."""
    customer = em.data["customers"][sub["customer"]]
    pm = create_payment_method(em, card, customer["id"])
    em.emit("payment_method.attached", pm)
    previous_settings = snapshot(customer["invoice_settings"])
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    em.emit("customer.updated", customer, {"invoice_settings": previous_settings})
    for other in em.data["subscriptions"].values():
        if other["customer"] == customer["id"] and other["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            old = other.get("default_payment_method")
            other["default_payment_method"] = pm["id"]
            em.emit("customer.subscription.updated", other, {"default_payment_method": old})
            if other["status"] == "past_due":
                retry_open_invoices(em, other)
    return pm
