"""Checkout Sessions: ``/v1/checkout/sessions`` (subscription mode, hosted UI only)."""

from __future__ import annotations

import re
from typing import Any

from ..api import base_url, paginate, route
from ..billing.checkout import expire_session, session_amounts, session_coupon
from ..core import Emulator
from ..errors import StripeError, invalid, required
from ..forms import to_bool, to_dict, to_int, to_list, to_str
from ..objects import new_id
from .params import EMAIL_RE, apply_metadata, check_params, opt_str, parse_discounts, require

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

SESSION_FIELDS = {
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata",
    "subscription_data",
    "customer",
    "customer_email",
    "shipping_address_collection",
    "allow_promotion_codes",
    "discounts",
    "expires_at",
    "locale",
    "payment_method_types",
    "billing_address_collection",
    "customer_update",
    "ui_mode",
    "payment_method_collection",
    "consent_collection",
    "custom_text",
    "phone_number_collection",
    "tax_id_collection",
    "automatic_tax",
    "submit_type",
}


def _customer_update(params: dict[str, Any], customer_id: str | None) -> dict[str, str]:
    """Which of the customer's details Checkout may overwrite (Stripe's default: none)."""
    if "customer_update" not in params:
        return {}
    if not customer_id:
        raise invalid("customer_update", "customer_update can only be used with customer.")
    raw = to_dict(params["customer_update"], "customer_update")
    update: dict[str, str] = {}
    for key, value in raw.items():
        if key not in ("address", "name", "shipping"):
            raise invalid(
                f"customer_update[{key}]", "Received unknown parameter", code="parameter_unknown"
            )
        if value not in ("auto", "never"):
            raise invalid(f"customer_update[{key}]", "Must be auto or never.")
        update[key] = value
    return update


@route("/v1/checkout/sessions", ["POST"])
def create_checkout_session(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, SESSION_FIELDS)
    mode = require(params, "mode")
    if mode not in ("payment", "setup", "subscription"):
        raise invalid("mode", "Invalid mode: must be one of payment, setup or subscription")
    if mode != "subscription":
        raise invalid(
            "mode", "The Stripe emulator only supports Checkout Sessions with mode=subscription."
        )
    if params.get("ui_mode", "hosted") != "hosted":
        raise invalid("ui_mode", "The Stripe emulator only supports ui_mode=hosted.")
    success_url = to_str(require(params, "success_url"), "success_url")
    if not success_url.startswith(("http://", "https://")):
        raise invalid("success_url", "Not a valid URL", code="url_invalid")
    cancel_url = opt_str(params, "cancel_url") if "cancel_url" in params else None
    if cancel_url and not cancel_url.startswith(("http://", "https://")):
        raise invalid("cancel_url", "Not a valid URL", code="url_invalid")
    raw_items = to_list(require(params, "line_items"), "line_items")
    if not raw_items:
        raise required("line_items")
    if "customer" in params and "customer_email" in params:
        raise invalid(
            "customer", "You may only specify one of these parameters: customer, customer_email."
        )
    customer_id = None
    if "customer" in params:
        customer_id = to_str(require(params, "customer"), "customer")
        em.get("customers", customer_id, "customer", "customer")
    customer_email = None
    if "customer_email" in params:
        customer_email = to_str(require(params, "customer_email"), "customer_email")
        if not EMAIL_RE.match(customer_email):
            raise invalid(
                "customer_email", f"Invalid email address: {customer_email}", code="email_invalid"
            )
    allow_promo = (
        to_bool(params["allow_promotion_codes"], "allow_promotion_codes")
        if "allow_promotion_codes" in params
        else None
    )
    discounts = parse_discounts(em, params) if "discounts" in params else []
    if allow_promo and discounts:
        raise invalid(
            "allow_promotion_codes",
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
        )
    shipping_collection = None
    if "shipping_address_collection" in params:
        raw = to_dict(params["shipping_address_collection"], "shipping_address_collection")
        countries_param = "shipping_address_collection[allowed_countries]"
        countries = to_list(require(raw, "allowed_countries", countries_param), countries_param)
        if not countries:
            raise required("shipping_address_collection[allowed_countries]")
        for country in countries:
            if not isinstance(country, str) or not COUNTRY_RE.match(country):
                raise invalid(
                    "shipping_address_collection[allowed_countries]", f"Invalid country: {country}"
                )
        shipping_collection = {"allowed_countries": countries}
    sub_data: dict[str, Any] = {}
    if "subscription_data" in params:
        raw = to_dict(params["subscription_data"], "subscription_data")
        for key in raw:
            if key not in ("metadata", "description"):
                raise invalid(
                    f"subscription_data[{key}]",
                    f"The emulator does not support subscription_data[{key}].",
                    code="parameter_unknown",
                )
        holder: dict[str, Any] = {"metadata": {}}
        if "metadata" in raw:
            apply_metadata(holder, raw["metadata"])
        sub_data = {"metadata": holder["metadata"], "description": raw.get("description") or None}
    now = em.now()
    expires_at = now + 24 * 3600
    if "expires_at" in params:
        expires_at = to_int(params["expires_at"], "expires_at")
        if not now + 1800 <= expires_at <= now + 24 * 3600:
            raise invalid(
                "expires_at",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
            )

    session_id = new_id("cs_test_", 58)
    line_items = []
    currency = None
    for index, raw in enumerate(raw_items):
        item = to_dict(raw, f"line_items[{index}]")
        if "price_data" in item:
            raise invalid(
                f"line_items[{index}][price_data]",
                "The emulator needs a saved price: use line_items[][price].",
            )
        param = f"line_items[{index}][price]"
        price_id = to_str(require(item, "price", param), param)
        price = em.get("prices", price_id, "price", f"line_items[{index}][price]")
        if not price["active"]:
            raise invalid(f"line_items[{index}][price]", f"The price `{price_id}` is not active.")
        if price["type"] != "recurring":
            raise invalid(
                f"line_items[{index}][price]",
                "The emulator's subscription-mode Checkout needs recurring prices only.",
            )
        quantity = to_int(item.get("quantity", 1), f"line_items[{index}][quantity]", minimum=1)
        if currency and price["currency"] != currency:
            raise invalid(f"line_items[{index}][price]", "All prices must use the same currency.")
        currency = price["currency"]
        product = em.data["products"].get(price["product"], {})
        amount = int(price["unit_amount"] or 0) * quantity
        line_items.append(
            {
                "id": new_id("li_"),
                "object": "item",
                "adjustable_quantity": None,
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": currency,
                "description": product.get("name"),
                "metadata": {},
                "price": {k: v for k, v in price.items() if not k.startswith("_")},
                "quantity": quantity,
            }
        )
    em.data["checkout_line_items"][session_id] = line_items
    metadata_holder: dict[str, Any] = {"metadata": {}}
    if "metadata" in params:
        apply_metadata(metadata_holder, params["metadata"])
    customer_update = _customer_update(params, customer_id)
    session = {
        "_customer_update": customer_update,
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": allow_promo,
        "amount_subtotal": 0,
        "amount_total": 0,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection") or None,
        "cancel_url": cancel_url,
        "client_reference_id": opt_str(params, "client_reference_id")
        if "client_reference_id" in params
        else None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer_id,
        "customer_account": None,
        "customer_creation": None if customer_id else "always",
        "customer_details": {
            "address": None,
            "business_name": None,
            "email": customer_email,
            "individual_name": None,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": None,
        }
        if customer_email
        else None,
        "customer_email": customer_email,
        "discounts": discounts,
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": params.get("locale") or None,
        "metadata": metadata_holder["metadata"],
        "mode": "subscription",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "presentment_details": None,
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": "disabled",
            "payment_method_save": None,
        },
        "setup_intent": None,
        "shipping_address_collection": shipping_collection,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{base_url()}/c/pay/{session_id}",
        "wallet_options": None,
        "_subscription_data": sub_data,
    }
    coupon_id, _promo = session_coupon(em, session, None)
    subtotal, discount = session_amounts(em, session, coupon_id)
    session["amount_subtotal"] = subtotal
    session["amount_total"] = subtotal - discount
    session["total_details"]["amount_discount"] = discount
    em.insert("checkout_sessions", session)
    return session


@route("/v1/checkout/sessions/<obj_id>", ["GET"])
def retrieve_checkout_session(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("checkout_sessions", obj_id, "checkout.session")


@route("/v1/checkout/sessions/<obj_id>/line_items", ["GET"])
def list_checkout_line_items(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    em.get("checkout_sessions", obj_id, "checkout.session")
    items = list(em.data["checkout_line_items"].get(obj_id, []))
    return paginate(em, items, params, f"/v1/checkout/sessions/{obj_id}/line_items")


@route("/v1/checkout/sessions/<obj_id>/expire", ["POST"])
def expire_checkout_session(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    session = em.get("checkout_sessions", obj_id, "checkout.session")
    if session["status"] != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f"Session has a status of `{session['status']}`.",
        )
    expire_session(em, session)
    return session


@route("/v1/checkout/sessions", ["GET"])
def list_checkout_sessions(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "customer",
            "subscription",
            "status",
            "payment_intent",
            "created",
            "customer_details",
            "payment_link",
        },
    )
    filters = {k: params[k] for k in ("customer", "subscription", "status") if k in params}
    objects = em.ordered(
        "checkout_sessions", lambda s: all(s.get(k) == v for k, v in filters.items())
    )
    return paginate(em, objects, params, "/v1/checkout/sessions")
