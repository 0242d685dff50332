"""Changes to a customer made on the hosted pages (the API sets fields directly)."""

from __future__ import annotations

from typing import Any

from ..objects import snapshot
from ..state import State


def change_shipping_address(
    em: State, customer: dict[str, Any], name: str, address: dict[str, Any]
) -> dict[str, Any]:
    """The portal's address form: set ``shipping`` (name, address) and ``address``.

    The shipping phone is kept. Emits customer.updated with what changed (nothing when nothing
    did) and returns those previous attributes.
    """
    old_shipping = customer.get("shipping") or {}
    previous: dict[str, Any] = {}
    if old_shipping.get("name") != name or old_shipping.get("address") != address:
        previous["shipping"] = snapshot(customer.get("shipping"))
        customer["shipping"] = {
            "address": snapshot(address),
            "name": name,
            "phone": old_shipping.get("phone"),
        }
    if customer.get("address") != address:
        previous["address"] = snapshot(customer.get("address"))
        customer["address"] = snapshot(address)
    if previous:
        em.emit("customer.updated", customer, previous)
    return previous
