"""Prices: ``/v1/prices``, with lookup keys and ``transfer_lookup_key``."""

from __future__ import annotations

import re
from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import invalid, required
from ..forms import to_bool, to_dict, to_int, to_str
from ..objects import build_price, build_product
from .params import apply_metadata, check_params, opt_str, require, str_list

INTERVALS = ("day", "week", "month", "year")


def _take_lookup_key(em: Emulator, price: dict[str, Any], key: str | None, transfer: bool) -> None:
    if key:
        holder = next(
            (
                p
                for p in em.data["prices"].values()
                if p.get("lookup_key") == key and p["id"] != price["id"]
            ),
            None,
        )
        if holder is not None:
            if not transfer:
                raise invalid(
                    "lookup_key",
                    f"A price (`{holder['id']}`) already uses that lookup key.",
                )
            holder["lookup_key"] = None
            em.emit("price.updated", holder, {"lookup_key": key})
    price["lookup_key"] = key


def new_price(em: Emulator, params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Create a price from ``params`` (``prefix`` names nested params in errors); emits events."""

    def p(name: str) -> str:
        return f"{prefix}[{name}]" if prefix else name

    if "currency" not in params:
        raise required(p("currency"))
    currency = to_str(params["currency"], p("currency")).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid(p("currency"), f"Invalid currency: {currency}")
    if "unit_amount" in params:
        unit_amount = to_int(params["unit_amount"], p("unit_amount"), minimum=0)
    elif "unit_amount_decimal" in params:
        try:
            unit_amount = int(
                float(to_str(params["unit_amount_decimal"], p("unit_amount_decimal")))
            )
        except ValueError:
            raise invalid(p("unit_amount_decimal"), "Invalid decimal.") from None
    else:
        raise required(p("unit_amount"))
    product_id = params.get("product")
    if product_id is None and "product_data" in params:
        data = to_dict(params["product_data"], "product_data")
        product = build_product(em, name=to_str(require(data, "name"), "product_data[name]"))
        if "metadata" in data:
            apply_metadata(product, data["metadata"])
        if "active" in data:
            product["active"] = to_bool(data["active"], "product_data[active]")
        em.insert("products", product)
        em.emit("product.created", product)
        product_id = product["id"]
    elif product_id is None:
        raise required("product")
    else:
        em.get("products", to_str(product_id, "product"), "product", "product")
    price = build_price(em, product=product_id, currency=currency, unit_amount=unit_amount)
    if "recurring" in params:
        recurring = to_dict(params["recurring"], p("recurring"))
        interval = recurring.get("interval")
        if interval is None:
            raise required(p("recurring[interval]"))
        if interval not in INTERVALS:
            raise invalid(
                p("recurring[interval]"),
                f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}",
            )
        count = to_int(
            recurring.get("interval_count", 1), p("recurring[interval_count]"), minimum=1
        )
        limits = {"day": 1095, "week": 156, "month": 36, "year": 3}
        if count > limits[interval]:
            raise invalid(
                p("recurring[interval_count]"), "Maximum of three years interval allowed."
            )
        price["recurring"] = {
            "interval": interval,
            "interval_count": count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
        price["type"] = "recurring"
    if "nickname" in params:
        price["nickname"] = opt_str(params, "nickname")
    if "active" in params:
        price["active"] = to_bool(params["active"], "active")
    if "tax_behavior" in params:
        price["tax_behavior"] = to_str(params["tax_behavior"], "tax_behavior")
    if "metadata" in params:
        apply_metadata(price, params["metadata"])
    transfer = (
        to_bool(params["transfer_lookup_key"], "transfer_lookup_key")
        if "transfer_lookup_key" in params
        else False
    )
    if params.get("lookup_key"):
        _take_lookup_key(em, price, to_str(params["lookup_key"], "lookup_key"), transfer)
    em.insert("prices", price)
    em.emit("price.created", price)
    return price


@route("/v1/prices", ["POST"])
def create_price(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "currency",
            "unit_amount",
            "unit_amount_decimal",
            "product",
            "product_data",
            "recurring",
            "lookup_key",
            "transfer_lookup_key",
            "nickname",
            "active",
            "metadata",
            "tax_behavior",
            "billing_scheme",
        },
    )
    if params.get("billing_scheme", "per_unit") != "per_unit":
        raise invalid("billing_scheme", "The emulator only supports billing_scheme=per_unit.")
    return new_price(em, params)


@route("/v1/prices/<obj_id>", ["GET"])
def retrieve_price(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("prices", obj_id, "price")


@route("/v1/prices/<obj_id>", ["POST"])
def update_price(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(
        params,
        {"active", "metadata", "nickname", "lookup_key", "transfer_lookup_key", "tax_behavior"},
    )
    price = em.get("prices", obj_id, "price")
    before = em.render(price)
    if "active" in params:
        price["active"] = to_bool(params["active"], "active")
    if "nickname" in params:
        price["nickname"] = opt_str(params, "nickname")
    if "tax_behavior" in params:
        price["tax_behavior"] = to_str(params["tax_behavior"], "tax_behavior")
    if "metadata" in params:
        apply_metadata(price, params["metadata"])
    if "lookup_key" in params:
        transfer = (
            to_bool(params["transfer_lookup_key"], "transfer_lookup_key")
            if "transfer_lookup_key" in params
            else False
        )
        _take_lookup_key(em, price, opt_str(params, "lookup_key"), transfer)
    previous = {k: v for k, v in before.items() if price.get(k) != v}
    em.emit("price.updated", price, previous)
    return price


@route("/v1/prices", ["GET"])
def list_prices(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "active",
            "product",
            "lookup_keys",
            "type",
            "currency",
            "recurring",
            "created",
        },
    )
    active = to_bool(params["active"], "active") if "active" in params else None
    keys = set(str_list(params["lookup_keys"], "lookup_keys")) if "lookup_keys" in params else None
    product = params.get("product")
    kind = params.get("type")
    currency = params.get("currency")
    objects = em.ordered(
        "prices",
        lambda p: (
            (active is None or p["active"] == active)
            and (keys is None or p.get("lookup_key") in keys)
            and (product is None or p["product"] == product)
            and (kind is None or p["type"] == kind)
            and (currency is None or p["currency"] == str(currency).lower())
        ),
    )
    return paginate(em, objects, params, "/v1/prices")
