"""Coupons: ``/v1/coupons``."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import invalid, required
from ..forms import to_int, to_str
from ..objects import build_coupon
from .params import apply_metadata, check_params, opt_str, require


@route("/v1/coupons", ["POST"])
def create_coupon(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "id",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "name",
            "max_redemptions",
            "redeem_by",
            "metadata",
            "applies_to",
        },
    )
    obj_id = to_str(params["id"], "id") if params.get("id") else None
    if obj_id and obj_id in em.data["coupons"]:
        raise invalid("id", "Coupon already exists.", code="resource_already_exists")
    coupon = build_coupon(em, obj_id)
    if ("percent_off" in params) == ("amount_off" in params):
        raise invalid("percent_off", "You must pass exactly one of percent_off or amount_off.")
    if "percent_off" in params:
        try:
            percent = float(to_str(params["percent_off"], "percent_off"))
        except ValueError:
            raise invalid("percent_off", "Invalid decimal: percent_off") from None
        if not 0 < percent <= 100:
            raise invalid("percent_off", "percent_off must be greater than 0 and at most 100.")
        coupon["percent_off"] = percent
    else:
        coupon["amount_off"] = to_int(params["amount_off"], "amount_off", minimum=1)
        if "currency" not in params:
            raise required("currency")
        coupon["currency"] = to_str(params["currency"], "currency").lower()
    duration = params.get("duration", "once")
    if duration not in ("once", "forever", "repeating"):
        raise invalid("duration", "Invalid duration: must be one of forever, once, or repeating")
    coupon["duration"] = duration
    if duration == "repeating":
        coupon["duration_in_months"] = to_int(
            require(params, "duration_in_months"), "duration_in_months", minimum=1
        )
    if "name" in params:
        coupon["name"] = opt_str(params, "name")
    if "max_redemptions" in params:
        coupon["max_redemptions"] = to_int(params["max_redemptions"], "max_redemptions", minimum=1)
    if "redeem_by" in params:
        coupon["redeem_by"] = to_int(params["redeem_by"], "redeem_by")
    if "metadata" in params:
        apply_metadata(coupon, params["metadata"])
    em.insert("coupons", coupon)
    em.emit("coupon.created", coupon)
    return coupon


@route("/v1/coupons/<obj_id>", ["GET"])
def retrieve_coupon(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("coupons", obj_id, "coupon")


@route("/v1/coupons/<obj_id>", ["POST"])
def update_coupon(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"name", "metadata"})
    coupon = em.get("coupons", obj_id, "coupon")
    if "name" in params:
        coupon["name"] = opt_str(params, "name")
    if "metadata" in params:
        apply_metadata(coupon, params["metadata"])
    em.emit("coupon.updated", coupon)
    return coupon


@route("/v1/coupons/<obj_id>", ["DELETE"])
def delete_coupon(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    coupon = em.get("coupons", obj_id, "coupon")
    coupon["valid"] = False
    # As on Stripe, a code is only active while its coupon is valid; discounts already
    # granted stay on their subscriptions.
    for promo in em.data["promotion_codes"].values():
        if promo["promotion"]["coupon"] == obj_id and promo["active"]:
            before = em.render(promo)
            promo["active"] = False
            em.emit("promotion_code.updated", promo, {"active": before["active"]})
    em.emit("coupon.deleted", coupon)
    coupon["deleted"] = True
    return {"id": obj_id, "object": "coupon", "deleted": True}


@route("/v1/coupons", ["GET"])
def list_coupons(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, {"limit", "starting_after", "ending_before", "created"})
    return paginate(em, em.ordered("coupons"), params, "/v1/coupons")
