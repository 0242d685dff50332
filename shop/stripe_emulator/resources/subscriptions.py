"""Subscriptions: ``/v1/subscriptions`` (create, retrieve, update, cancel, pause, resume, list)."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..billing.cards import resolve_payment_method
from ..billing.discounts import create_discount
from ..billing.invoices import pay_invoice
from ..billing.subscription_changes import (
    cancel_now,
    change_price,
    emit_updated,
    pause,
    require_live,
    resume,
    set_cancel_at_period_end,
)
from ..billing.subscriptions import (
    new_subscription,
    period_end,
    set_status,
    start_subscription,
    subscription_payment_method,
)
from ..core import Emulator
from ..errors import StripeError, invalid, missing, required
from ..forms import to_bool, to_dict, to_int, to_list, to_str
from .params import apply_metadata, check_params, opt_str, parse_discounts, require

PAUSE_BEHAVIOURS = ("keep_as_draft", "mark_uncollectible", "void")
SUB_STATUSES = (
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
    "all",
    "ended",
)


@route("/v1/subscriptions", ["POST"])
def create_subscription(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "customer",
            "items",
            "metadata",
            "description",
            "default_payment_method",
            "payment_behavior",
            "discounts",
            "collection_method",
            "proration_behavior",
            "off_session",
        },
    )
    customer_id = to_str(require(params, "customer"), "customer")
    em.get("customers", customer_id, "customer", "customer")
    behaviour = params.get("payment_behavior", "allow_incomplete")
    if behaviour not in ("allow_incomplete", "default_incomplete", "error_if_incomplete"):
        raise invalid("payment_behavior", f"Invalid payment_behavior: {behaviour}")
    if params.get("collection_method", "charge_automatically") != "charge_automatically":
        raise invalid("collection_method", "The emulator only supports charge_automatically.")
    raw_items = to_list(require(params, "items"), "items")
    if not raw_items:
        raise required("items")
    lines = []
    currency = None
    for index, raw in enumerate(raw_items):
        item = to_dict(raw, f"items[{index}]")
        if "price" not in item:
            raise required(f"items[{index}][price]")
        price = em.get(
            "prices",
            to_str(item["price"], f"items[{index}][price]"),
            "price",
            f"items[{index}][price]",
        )
        if not price["active"] or price["type"] != "recurring":
            raise invalid(f"items[{index}][price]", "Subscriptions need active recurring prices.")
        if currency and price["currency"] != currency:
            raise invalid(f"items[{index}][price]", "All prices must use the same currency.")
        currency = price["currency"]
        quantity = to_int(item.get("quantity", 1), f"items[{index}][quantity]", minimum=1)
        lines.append({"price": price["id"], "quantity": quantity})
    pm_id = None
    if params.get("default_payment_method"):
        pm_id = resolve_payment_method(
            em,
            to_str(params["default_payment_method"], "default_payment_method"),
            customer_id,
            "default_payment_method",
        )
    holder: dict[str, Any] = {"metadata": {}}
    if "metadata" in params:
        apply_metadata(holder, params["metadata"])
    discounts = parse_discounts(em, params) if "discounts" in params else []
    sub = new_subscription(
        em,
        customer_id=customer_id,
        line_items=lines,
        metadata=holder["metadata"],
        description=opt_str(params, "description") if "description" in params else None,
        payment_method=pm_id,
    )
    for entry in discounts:
        coupon_id = entry["coupon"]
        if entry["promotion_code"]:
            coupon_id = em.data["promotion_codes"][entry["promotion_code"]]["promotion"]["coupon"]
        discount = create_discount(
            em,
            coupon_id=coupon_id,
            promotion_code_id=entry["promotion_code"],
            customer_id=customer_id,
            subscription_id=sub["id"],
            checkout_session_id=None,
        )
        sub["discounts"].append(discount["id"])
    invoice = start_subscription(em, sub)
    if behaviour == "default_incomplete" and invoice["amount_due"] > 0:
        return sub
    pm = em.data["payment_methods"].get(subscription_payment_method(em, sub) or "")
    if pay_invoice(em, invoice, pm["id"] if pm else None):
        set_status(em, sub, "active")
    elif behaviour == "error_if_incomplete":
        raise StripeError(
            402,
            (pm or {}).get("_decline_message") or "The customer has no default payment method.",
            type="card_error",
            code="card_declined",
            decline_code=(pm or {}).get("_decline_code") or "generic_decline",
        )
    return sub


def apply_update(em: Emulator, sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/subscriptions/{id}: metadata, cancel_at_period_end, items, pause_collection..."""
    allowed = {
        "cancel_at_period_end",
        "items",
        "pause_collection",
        "metadata",
        "expand",
        "proration_behavior",
        "description",
        "default_payment_method",
        "cancellation_details",
        "cancel_at",
        "payment_behavior",
    }
    for key in params:
        if key not in allowed:
            raise invalid(key, f"Received unknown parameter: {key}", code="parameter_unknown")
    before = em.render(sub)
    if sub["status"] in ("canceled", "incomplete_expired") and set(params) - {
        "metadata",
        "cancellation_details",
        "expand",
    }:
        require_live(sub)
    if "metadata" in params:
        metadata = to_dict(params["metadata"], "metadata")
        if params["metadata"] == "":
            sub["metadata"] = {}
        for key, value in metadata.items():
            if value == "":
                sub["metadata"].pop(key, None)
            else:
                sub["metadata"][key] = to_str(value, f"metadata[{key}]")
    if "description" in params:
        sub["description"] = to_str(params["description"], "description") or None
    if "cancellation_details" in params:
        details = to_dict(params["cancellation_details"], "cancellation_details")
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    if "cancel_at_period_end" in params:
        set_cancel_at_period_end(
            em, sub, to_bool(params["cancel_at_period_end"], "cancel_at_period_end"), emit=False
        )
    if "cancel_at" in params:
        if params["cancel_at"] == "":
            set_cancel_at_period_end(em, sub, False, emit=False)
        else:
            require_live(sub)
            sub["cancel_at"] = to_int(params["cancel_at"], "cancel_at", minimum=em.now())
            sub["canceled_at"] = em.now()
            sub["cancel_at_period_end"] = sub["cancel_at"] == period_end(sub)
    if "items" in params:
        for index, item in enumerate(to_list(params["items"], "items")):
            item = to_dict(item, f"items[{index}]")
            if "price" not in item:
                raise invalid(
                    f"items[{index}][price]",
                    "Only price changes on existing items are supported by the emulator.",
                    code="parameter_missing",
                )
            quantity = (
                to_int(item["quantity"], f"items[{index}][quantity]", minimum=1)
                if "quantity" in item
                else None
            )
            change_price(
                em, sub, item.get("id"), to_str(item["price"], f"items[{index}][price]"), quantity
            )
    if "pause_collection" in params:
        require_live(sub)
        value = params["pause_collection"]
        if value == "":
            sub["pause_collection"] = None
        else:
            value = to_dict(value, "pause_collection")
            behaviour = value.get("behavior")
            if behaviour not in PAUSE_BEHAVIOURS:
                raise invalid(
                    "pause_collection[behavior]",
                    "Invalid pause_collection[behavior]: must be one of "
                    + ", ".join(PAUSE_BEHAVIOURS),
                )
            resumes_at = (
                to_int(value["resumes_at"], "pause_collection[resumes_at]")
                if value.get("resumes_at")
                else None
            )
            if resumes_at is not None and resumes_at <= em.now():
                raise invalid(
                    "pause_collection[resumes_at]",
                    "pause_collection[resumes_at] must be in the future.",
                )
            sub["pause_collection"] = {"behavior": behaviour, "resumes_at": resumes_at}
    if "default_payment_method" in params:
        pm_id = to_str(params["default_payment_method"], "default_payment_method")
        if pm_id and pm_id not in em.data["payment_methods"]:
            raise missing("PaymentMethod", pm_id, "default_payment_method")
        sub["default_payment_method"] = pm_id or None
    emit_updated(em, sub, before)
    return sub


@route("/v1/subscriptions/<obj_id>", ["GET"])
def retrieve_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("subscriptions", obj_id, "subscription")


@route("/v1/subscriptions/<obj_id>", ["POST"])
def update_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    sub = em.get("subscriptions", obj_id, "subscription")
    return apply_update(em, sub, params)


@route("/v1/subscriptions/<obj_id>", ["DELETE"])
def cancel_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = em.get("subscriptions", obj_id, "subscription")
    if "cancellation_details" in params:
        details = to_dict(params["cancellation_details"], "cancellation_details")
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    return cancel_now(em, sub)


@route("/v1/subscriptions/<obj_id>/pause", ["POST"])
def pause_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"bill_for", "invoicing_behavior", "type"})
    return pause(em, em.get("subscriptions", obj_id, "subscription"))


@route("/v1/subscriptions/<obj_id>/resume", ["POST"])
def resume_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(
        params, {"billing_cycle_anchor", "payment_behavior", "proration_behavior", "proration_date"}
    )
    return resume(em, em.get("subscriptions", obj_id, "subscription"), params)


@route("/v1/subscriptions", ["GET"])
def list_subscriptions(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "customer",
            "status",
            "price",
            "created",
            "collection_method",
            "current_period_end",
            "current_period_start",
            "test_clock",
            "automatic_tax",
        },
    )
    status = params.get("status")
    if status is not None and status not in SUB_STATUSES:
        raise invalid("status", f"Invalid status: must be one of {', '.join(SUB_STATUSES)}")
    customer = params.get("customer")
    price = params.get("price")

    def keep(sub: dict[str, Any]) -> bool:
        if customer is not None and sub["customer"] != customer:
            return False
        if price is not None and all(i["price"]["id"] != price for i in sub["items"]["data"]):
            return False
        if status == "all":
            return True
        if status == "ended":
            return sub["status"] in ("canceled", "incomplete_expired")
        if status is None:
            return sub["status"] not in ("canceled", "incomplete_expired")
        return sub["status"] == status

    return paginate(em, em.ordered("subscriptions", keep), params, "/v1/subscriptions")
