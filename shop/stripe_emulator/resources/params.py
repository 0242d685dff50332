"""Parameter helpers shared by the API handlers: unknown keys, metadata, addresses, discounts."""

from __future__ import annotations

import re
from typing import Any

from ..core import Emulator
from ..errors import StripeError, invalid, required
from ..forms import to_dict, to_list, to_str
from ..objects import empty_address

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_params(params: dict[str, Any], allowed: set[str]) -> None:
    """Reject unknown top-level parameters like Stripe (``expand`` is always allowed)."""
    for key in params:
        if key not in allowed and key != "expand":
            raise invalid(key, f"Received unknown parameter: {key}", code="parameter_unknown")


def apply_metadata(obj: dict[str, Any], value: Any) -> None:
    """Merge metadata: ``""`` clears all, a key set to ``""`` is removed."""
    if value == "":
        obj["metadata"] = {}
        return
    metadata = to_dict(value, "metadata")
    target = dict(obj.get("metadata") or {})
    for key, item in metadata.items():
        if not isinstance(item, str):
            raise invalid(f"metadata[{key}]", "Metadata values must be strings.")
        if len(key) > 40 or len(item) > 500:
            raise invalid(
                f"metadata[{key}]", "Metadata keys are limited to 40 characters and values to 500."
            )
        if item == "":
            target.pop(key, None)
        else:
            target[key] = item
    if len(target) > 50:
        raise invalid("metadata", "Metadata may have at most 50 keys.")
    obj["metadata"] = target


def str_list(value: Any, param: str) -> list[str]:
    """An array of strings."""
    return [to_str(item, param) for item in to_list(value, param)]


def opt_str(params: dict[str, Any], key: str) -> str | None:
    """A string param where ``""`` means null."""
    value = to_str(params[key], key)
    return value or None


def require(params: dict[str, Any], key: str, param: str | None = None) -> Any:
    """A required, non-empty parameter (``param`` names it in errors, default ``key``)."""
    name = param or key
    if key not in params:
        raise required(name)
    if params[key] == "":
        raise StripeError(
            400,
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' "
            "from your request or supply a non-empty value.",
            code="parameter_invalid_empty",
            param=name,
        )
    return params[key]


def parse_address(value: Any, param: str) -> dict[str, Any] | None:
    """An address hash (``""`` clears it)."""
    if value == "":
        return None
    raw = to_dict(value, param)
    address = empty_address()
    for key, item in raw.items():
        if key not in ADDRESS_FIELDS:
            raise invalid(
                f"{param}[{key}]",
                f"Received unknown parameter: {param}[{key}]",
                code="parameter_unknown",
            )
        address[key] = to_str(item, f"{param}[{key}]") or None
    if address["country"]:
        address["country"] = address["country"].upper()
    return address


def parse_shipping(value: Any) -> dict[str, Any] | None:
    """A customer's ``shipping`` hash (name and address required)."""
    if value == "":
        return None
    raw = to_dict(value, "shipping")
    name = require(raw, "name", "shipping[name]")
    address = require(raw, "address", "shipping[address]")
    return {
        "address": parse_address(address, "shipping[address]"),
        "name": to_str(name, "shipping[name]"),
        "phone": to_str(raw.get("phone", ""), "shipping[phone]") or None,
    }


def parse_discounts(em: Emulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``discounts[]`` of a Checkout Session or subscription: one coupon or promotion code."""
    entries = []
    for index, raw in enumerate(to_list(params["discounts"], "discounts")):
        entry = to_dict(raw, f"discounts[{index}]")
        coupon_id = entry.get("coupon")
        promo_id = entry.get("promotion_code")
        if bool(coupon_id) == bool(promo_id):
            raise invalid(
                f"discounts[{index}]",
                "Each discount needs exactly one of coupon or promotion_code.",
            )
        if coupon_id:
            coupon = em.get("coupons", coupon_id, "coupon", f"discounts[{index}][coupon]")
            if not coupon["valid"]:
                raise invalid(
                    f"discounts[{index}][coupon]", f"Coupon `{coupon_id}` is no longer valid."
                )
        else:
            promo = em.get(
                "promotion_codes", promo_id, "promotion code", f"discounts[{index}][promotion_code]"
            )
            if not promo["active"]:
                raise invalid(
                    f"discounts[{index}][promotion_code]", "This promotion code is inactive."
                )
        entries.append({"coupon": coupon_id or None, "promotion_code": promo_id or None})
    if len(entries) > 1:
        raise invalid("discounts", "Only one discount can be applied to a Checkout Session.")
    return entries
