"""Fields the hosted forms share (Checkout and the portal): the card and the shipping address."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..billing.cards import CardInput, luhn_ok
from ..core import Emulator
from .blueprint import form_value

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
ADDRESS_FORM_FIELDS = ("shipping_name", "line1", "line2", "city", "state", "postal_code", "country")


def parse_card(em: Emulator, errors: dict[str, str]) -> CardInput | None:
    """Validate the card fields of a hosted form; fills ``errors`` and returns None on failure."""
    number = re.sub(r"[\s-]", "", form_value("card_number", 40))
    expiry = form_value("card_expiry", 10)
    cvc = form_value("card_cvc", 10)
    name = form_value("card_name", 120)
    if not number:
        errors["card_number"] = "Your card number is incomplete."
    elif not number.isdigit() or not 13 <= len(number) <= 19 or not luhn_ok(number):
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


def parse_address_form(
    form: dict[str, str], allowed_countries: list[str], errors: dict[str, str]
) -> dict[str, Any]:
    """Validate the shipping fields of a hosted form; fills ``errors`` (field -> message).

    Returns the address hash (empty fields as None) whatever the outcome; check ``errors``.
    """
    for key, message in (
        ("shipping_name", "Enter the recipient's name."),
        ("line1", "Enter an address."),
        ("city", "Enter a city or suburb."),
        ("postal_code", "Enter a postcode."),
    ):
        if not form.get(key):
            errors[key] = message
    if form.get("country") not in allowed_countries:
        errors["country"] = "Choose a country we ship to."
    return {
        "city": form.get("city") or None,
        "country": form.get("country") or None,
        "line1": form.get("line1") or None,
        "line2": form.get("line2") or None,
        "postal_code": form.get("postal_code") or None,
        "state": form.get("state") or None,
    }
