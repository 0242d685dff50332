"""Promotion codes: ``/v1/promotion_codes``."""

from __future__ import annotations

import re
from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import invalid, required
from ..forms import to_bool, to_dict, to_int, to_str
from ..objects import build_promotion_code, new_id
from .params import apply_metadata, check_params, require


@route("/v1/promotion_codes", ["POST"])
def create_promotion_code(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "promotion",
            "code",
            "active",
            "customer",
            "expires_at",
            "max_redemptions",
            "metadata",
            "restrictions",
        },
    )
    promotion = to_dict(require(params, "promotion"), "promotion")
    if promotion.get("type", "coupon") != "coupon":
        raise invalid("promotion[type]", "Invalid promotion[type]: must be coupon")
    if not promotion.get("coupon"):
        raise required("promotion[coupon]")
    coupon = em.get("coupons", promotion["coupon"], "coupon", "promotion[coupon]")
    code = to_str(params["code"], "code") if params.get("code") else new_id("", 8).upper()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,500}", code):
        raise invalid(
            "code", "Promotion codes may only contain letters, digits, hyphens and underscores."
        )
    if _active_code_exists(em, code):
        raise invalid("code", f"An active promotion code with `code: {code}` already exists.")
    promo = build_promotion_code(em, code=code, coupon=coupon["id"])
    if "active" in params:
        promo["active"] = to_bool(params["active"], "active")
    if "customer" in params:
        promo["customer"] = em.get("customers", params["customer"], "customer", "customer")["id"]
    if "expires_at" in params:
        promo["expires_at"] = to_int(params["expires_at"], "expires_at")
        if promo["expires_at"] <= em.now():
            raise invalid("expires_at", "The promotion code's `expires_at` must be in the future.")
        if coupon.get("redeem_by") and promo["expires_at"] > int(coupon["redeem_by"]):
            raise invalid(
                "expires_at",
                "The promotion code's `expires_at` may not be later than its coupon's `redeem_by`.",
            )
    if "max_redemptions" in params:
        promo["max_redemptions"] = to_int(params["max_redemptions"], "max_redemptions", minimum=1)
    if "metadata" in params:
        apply_metadata(promo, params["metadata"])
    em.insert("promotion_codes", promo)
    em.emit("promotion_code.created", promo)
    return promo


@route("/v1/promotion_codes/<obj_id>", ["GET"])
def retrieve_promotion_code(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("promotion_codes", obj_id, "promotion code")


@route("/v1/promotion_codes/<obj_id>", ["POST"])
def update_promotion_code(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"active", "metadata", "restrictions"})
    promo = em.get("promotion_codes", obj_id, "promotion code")
    before = em.render(promo)
    if "active" in params:
        active = to_bool(params["active"], "active")
        if active and not promo["active"] and _active_code_exists(em, promo["code"]):
            raise invalid(
                "active", f"An active promotion code with `code: {promo['code']}` already exists."
            )
        promo["active"] = active
    if "metadata" in params:
        apply_metadata(promo, params["metadata"])
    previous = {k: v for k, v in before.items() if promo.get(k) != v}
    em.emit("promotion_code.updated", promo, previous)
    return promo


@route("/v1/promotion_codes", ["GET"])
def list_promotion_codes(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "code",
            "coupon",
            "active",
            "customer",
            "created",
        },
    )
    code = params.get("code")
    coupon = params.get("coupon")
    customer = params.get("customer")
    active = to_bool(params["active"], "active") if "active" in params else None
    objects = em.ordered(
        "promotion_codes",
        lambda p: (
            (code is None or p["code"].lower() == str(code).lower())
            and (coupon is None or p["promotion"]["coupon"] == coupon)
            and (customer is None or p["customer"] == customer)
            and (active is None or p["active"] == active)
        ),
    )
    return paginate(em, objects, params, "/v1/promotion_codes")


def _active_code_exists(em: Emulator, code: str) -> bool:
    """Whether an active code has this text (compared without case, as Stripe does)."""
    return any(
        p["code"].lower() == code.lower() and p["active"]
        for p in em.data["promotion_codes"].values()
    )
