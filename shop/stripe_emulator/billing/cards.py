"""Test cards and payment methods: which numbers pay, which decline, and charging them.

A card that "fails later" (``4000 0000 0000 0341``) pays its first charge and declines every later
one, so dunning can be rehearsed. Stripe's magic ``pm_card_*`` ids become stored cards on use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import StripeError
from ..objects import empty_address, new_id
from ..state import State

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


def create_payment_method(em: State, card: CardInput, customer_id: str | None) -> dict[str, Any]:
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


def resolve_payment_method(em: State, pm_id: str, customer_id: str, param: str) -> str:
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


def charge(em: State, pm_id: str | None, amount: int) -> None:
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
