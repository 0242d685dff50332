"""API handlers for each Stripe resource the shop uses (registered on the ``/v1`` blueprint)."""

from __future__ import annotations

import re
from typing import Any

from flask import request

from . import billing, subscriptions
from .api import paginate, route
from .core import Emulator, new_id
from .errors import StripeError, invalid, required
from .forms import to_bool, to_dict, to_int, to_list, to_str
from .objects import (
    build_coupon,
    build_customer,
    build_price,
    build_product,
    build_promotion_code,
    build_webhook_endpoint,
    empty_address,
)

INTERVALS = ("day", "week", "month", "year")
ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
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


# -- products -------------------------------------------------------------------------------

PRODUCT_FIELDS = {
    "name",
    "active",
    "description",
    "metadata",
    "images",
    "shippable",
    "statement_descriptor",
    "unit_label",
    "url",
    "tax_code",
    "marketing_features",
}


def _product_fields(em: Emulator, product: dict[str, Any], params: dict[str, Any]) -> None:
    if "name" in params:
        product["name"] = to_str(require(params, "name"), "name")
    if "active" in params:
        product["active"] = to_bool(params["active"], "active")
    for key in ("description", "statement_descriptor", "unit_label", "url", "tax_code"):
        if key in params:
            product[key] = opt_str(params, key)
    if "images" in params:
        product["images"] = [to_str(i, "images") for i in to_list(params["images"], "images")]
    if "shippable" in params:
        product["shippable"] = to_bool(params["shippable"], "shippable")
    if "marketing_features" in params:
        product["marketing_features"] = [
            {"name": to_str(to_dict(f, "marketing_features").get("name", ""), "marketing_features")}
            for f in to_list(params["marketing_features"], "marketing_features")
        ]
    if "metadata" in params:
        apply_metadata(product, params["metadata"])
    product["updated"] = em.now()


@route("/v1/products", ["POST"])
def create_product(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, PRODUCT_FIELDS | {"id", "default_price_data", "type"})
    name = to_str(require(params, "name"), "name")
    obj_id = params.get("id")
    if obj_id is not None:
        obj_id = to_str(obj_id, "id")
        if obj_id in em.data["products"]:
            raise invalid("id", "Product already exists.", code="resource_already_exists")
    product = build_product(em, name=name, obj_id=obj_id)
    _product_fields(em, product, params)
    em.insert("products", product)
    if "default_price_data" in params:
        data = to_dict(params["default_price_data"], "default_price_data")
        price = _new_price(em, {**data, "product": product["id"]}, prefix="default_price_data")
        product["default_price"] = price["id"]
    em.emit("product.created", product)
    return product


@route("/v1/products/<obj_id>", ["GET"])
def retrieve_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("products", obj_id, "product")


@route("/v1/products/<obj_id>", ["POST"])
def update_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, PRODUCT_FIELDS | {"default_price"})
    product = em.get("products", obj_id, "product")
    before = em.render(product)
    _product_fields(em, product, params)
    if "default_price" in params:
        price_id = opt_str(params, "default_price")
        if price_id:
            price = em.get("prices", price_id, "price", "default_price")
            if price["product"] != product["id"]:
                raise invalid("default_price", "The default price must belong to this product.")
        product["default_price"] = price_id
    previous = {k: v for k, v in before.items() if product.get(k) != v and k != "updated"}
    em.emit("product.updated", product, previous)
    return product


@route("/v1/products/<obj_id>", ["DELETE"])
def delete_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    product = em.get("products", obj_id, "product")
    if any(p["product"] == obj_id for p in em.data["prices"].values()):
        raise StripeError(
            400, "This product cannot be deleted because it has one or more user-created prices."
        )
    product["deleted"] = True
    em.emit("product.deleted", product)
    return {"id": obj_id, "object": "product", "deleted": True}


@route("/v1/products", ["GET"])
def list_products(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "active",
            "ids",
            "shippable",
            "url",
            "created",
        },
    )
    active = to_bool(params["active"], "active") if "active" in params else None
    ids = set(str_list(params["ids"], "ids")) if "ids" in params else None
    objects = em.ordered(
        "products",
        lambda p: (active is None or p["active"] == active) and (ids is None or p["id"] in ids),
    )
    return paginate(em, objects, params, "/v1/products")


# -- prices ---------------------------------------------------------------------------------


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


def _new_price(em: Emulator, params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
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
    return _new_price(em, params)


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


# -- customers ------------------------------------------------------------------------------

CUSTOMER_FIELDS = {
    "email",
    "name",
    "phone",
    "description",
    "metadata",
    "shipping",
    "address",
    "preferred_locales",
    "invoice_settings",
    "business_name",
    "individual_name",
}


def _customer_fields(em: Emulator, customer: dict[str, Any], params: dict[str, Any]) -> None:
    if "email" in params:
        email = opt_str(params, "email")
        if email and not EMAIL_RE.match(email):
            raise invalid("email", f"Invalid email address: {email}", code="email_invalid")
        customer["email"] = email
    for key in ("name", "phone", "description", "business_name", "individual_name"):
        if key in params:
            customer[key] = opt_str(params, key)
    if "shipping" in params:
        customer["shipping"] = parse_shipping(params["shipping"])
    if "address" in params:
        customer["address"] = parse_address(params["address"], "address")
    if "preferred_locales" in params:
        customer["preferred_locales"] = [
            to_str(x, "preferred_locales")
            for x in to_list(params["preferred_locales"], "preferred_locales")
        ]
    if "invoice_settings" in params:
        settings = to_dict(params["invoice_settings"], "invoice_settings")
        if "default_payment_method" in settings:
            param = "invoice_settings[default_payment_method]"
            pm_id = to_str(settings["default_payment_method"], param)
            if pm_id:
                pm_id = billing.resolve_payment_method(em, pm_id, customer["id"], param)
            customer["invoice_settings"]["default_payment_method"] = pm_id or None
    if "metadata" in params:
        apply_metadata(customer, params["metadata"])


@route("/v1/customers", ["POST"])
def create_customer(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, CUSTOMER_FIELDS)
    customer = build_customer(em)
    _customer_fields(em, customer, params)
    em.insert("customers", customer)
    em.emit("customer.created", customer)
    return customer


@route("/v1/customers/<obj_id>", ["GET"])
def retrieve_customer(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    customer = em.data["customers"].get(obj_id)
    if customer is not None and customer.get("deleted"):
        return {"id": obj_id, "object": "customer", "deleted": True}
    return em.get("customers", obj_id, "customer")


@route("/v1/customers/<obj_id>", ["POST"])
def update_customer(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, CUSTOMER_FIELDS)
    customer = em.get("customers", obj_id, "customer")
    before = em.render(customer)
    _customer_fields(em, customer, params)
    previous = {k: v for k, v in before.items() if customer.get(k) != v}
    if previous:
        em.emit("customer.updated", customer, previous)
    return customer


@route("/v1/customers/<obj_id>", ["DELETE"])
def delete_customer(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    customer = em.get("customers", obj_id, "customer")
    for sub in em.data["subscriptions"].values():
        if sub["customer"] == obj_id and sub["status"] not in ("canceled", "incomplete_expired"):
            billing.end_subscription(em, sub, "cancellation_requested")
    em.emit("customer.deleted", customer)
    customer["deleted"] = True
    return {"id": obj_id, "object": "customer", "deleted": True}


@route("/v1/customers", ["GET"])
def list_customers(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params, {"limit", "starting_after", "ending_before", "email", "created", "test_clock"}
    )
    email = params.get("email")
    objects = em.ordered("customers", lambda c: email is None or c.get("email") == email)
    return paginate(em, objects, params, "/v1/customers")


@route("/v1/payment_methods/<obj_id>", ["GET"])
def retrieve_payment_method(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("payment_methods", obj_id, "PaymentMethod")


# -- checkout sessions ----------------------------------------------------------------------

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


def base_url() -> str:
    """The emulator's public address for hosted page links."""
    from .api import emulator

    em = emulator()
    return em.public_base_url or request.host_url.rstrip("/")


def _session_discounts(em: Emulator, params: dict[str, Any]) -> list[dict[str, Any]]:
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
    discounts = _session_discounts(em, params) if "discounts" in params else []
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
    coupon_id, _promo = billing.session_coupon(em, session, None)
    subtotal, discount = billing.session_amounts(em, session, coupon_id)
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
    billing.expire_session(em, session)
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


# -- billing portal -------------------------------------------------------------------------


@route("/v1/billing_portal/sessions", ["POST"])
def create_portal_session(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params, {"customer", "return_url", "configuration", "locale", "on_behalf_of", "flow_data"}
    )
    customer_id = to_str(require(params, "customer"), "customer")
    em.get("customers", customer_id, "customer", "customer")
    return_url = opt_str(params, "return_url") if "return_url" in params else None
    if return_url and not return_url.startswith(("http://", "https://")):
        raise invalid("return_url", "Not a valid URL", code="url_invalid")
    if "flow_data" in params:
        raise invalid("flow_data", "The emulator's portal does not support flow_data deep links.")
    session_id = new_id("bps_")
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": "bpc_emulator",
        "created": em.now(),
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": params.get("locale") or None,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{base_url()}/p/session/{session_id}",
    }
    return em.insert("portal_sessions", session)


# -- subscriptions --------------------------------------------------------------------------

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
        pm_id = billing.resolve_payment_method(
            em,
            to_str(params["default_payment_method"], "default_payment_method"),
            customer_id,
            "default_payment_method",
        )
    holder: dict[str, Any] = {"metadata": {}}
    if "metadata" in params:
        apply_metadata(holder, params["metadata"])
    discounts = _session_discounts(em, params) if "discounts" in params else []
    sub = billing.new_subscription(
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
        discount = billing.create_discount(
            em,
            coupon_id=coupon_id,
            promotion_code_id=entry["promotion_code"],
            customer_id=customer_id,
            subscription_id=sub["id"],
            checkout_session_id=None,
        )
        sub["discounts"].append(discount["id"])
    invoice = billing.start_subscription(em, sub)
    if behaviour == "default_incomplete" and invoice["amount_due"] > 0:
        return sub
    pm = em.data["payment_methods"].get(billing.subscription_payment_method(em, sub) or "")
    if billing.pay_invoice(em, invoice, pm["id"] if pm else None):
        billing.set_status(em, sub, "active")
    elif behaviour == "error_if_incomplete":
        raise StripeError(
            402,
            (pm or {}).get("_decline_message") or "The customer has no default payment method.",
            type="card_error",
            code="card_declined",
            decline_code=(pm or {}).get("_decline_code") or "generic_decline",
        )
    return sub


@route("/v1/subscriptions/<obj_id>", ["GET"])
def retrieve_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("subscriptions", obj_id, "subscription")


@route("/v1/subscriptions/<obj_id>", ["POST"])
def update_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    sub = em.get("subscriptions", obj_id, "subscription")
    return subscriptions.apply_update(em, sub, params)


@route("/v1/subscriptions/<obj_id>", ["DELETE"])
def cancel_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = em.get("subscriptions", obj_id, "subscription")
    if "cancellation_details" in params:
        details = to_dict(params["cancellation_details"], "cancellation_details")
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    return subscriptions.cancel_now(em, sub)


@route("/v1/subscriptions/<obj_id>/pause", ["POST"])
def pause_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"bill_for", "invoicing_behavior", "type"})
    return subscriptions.pause(em, em.get("subscriptions", obj_id, "subscription"))


@route("/v1/subscriptions/<obj_id>/resume", ["POST"])
def resume_subscription(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(
        params, {"billing_cycle_anchor", "payment_behavior", "proration_behavior", "proration_date"}
    )
    return subscriptions.resume(em, em.get("subscriptions", obj_id, "subscription"), params)


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


# -- invoices -------------------------------------------------------------------------------


@route("/v1/invoices/<obj_id>", ["GET"])
def retrieve_invoice(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("invoices", obj_id, "invoice")


@route("/v1/invoices/<obj_id>/lines", ["GET"])
def list_invoice_lines(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    invoice = em.get("invoices", obj_id, "invoice")
    return paginate(em, list(invoice["lines"]["data"]), params, f"/v1/invoices/{obj_id}/lines")


@route("/v1/invoices", ["GET"])
def list_invoices(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "customer",
            "subscription",
            "status",
            "created",
            "collection_method",
            "due_date",
        },
    )
    filters = {k: params[k] for k in ("customer", "status") if k in params}
    subscription = params.get("subscription")
    objects = em.ordered(
        "invoices",
        lambda i: (
            all(i.get(k) == v for k, v in filters.items())
            and (
                subscription is None
                or i["parent"]["subscription_details"]["subscription"] == subscription
            )
        ),
    )
    return paginate(em, objects, params, "/v1/invoices")


# -- coupons and promotion codes ------------------------------------------------------------


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
    em.emit("coupon.deleted", coupon)
    coupon["deleted"] = True
    return {"id": obj_id, "object": "coupon", "deleted": True}


@route("/v1/coupons", ["GET"])
def list_coupons(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, {"limit", "starting_after", "ending_before", "created"})
    return paginate(em, em.ordered("coupons"), params, "/v1/coupons")


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
    if any(
        p["code"].lower() == code.lower() and p["active"]
        for p in em.data["promotion_codes"].values()
    ):
        raise invalid("code", f"An active promotion code with `code: {code}` already exists.")
    promo = build_promotion_code(em, code=code, coupon=coupon["id"])
    if "active" in params:
        promo["active"] = to_bool(params["active"], "active")
    if "customer" in params:
        promo["customer"] = em.get("customers", params["customer"], "customer", "customer")["id"]
    if "expires_at" in params:
        promo["expires_at"] = to_int(params["expires_at"], "expires_at")
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
        promo["active"] = to_bool(params["active"], "active")
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


# -- events ---------------------------------------------------------------------------------


@route("/v1/events/<obj_id>", ["GET"])
def retrieve_event(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("events", obj_id, "event")


@route("/v1/events", ["GET"])
def list_events(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "type",
            "types",
            "created",
            "delivery_success",
        },
    )
    patterns = []
    if "type" in params:
        patterns.append(to_str(params["type"], "type"))
    if "types" in params:
        patterns += [to_str(t, "types") for t in to_list(params["types"], "types")]
    created = (
        to_dict(params.get("created", {}), "created")
        if isinstance(params.get("created"), dict)
        else {}
    )
    bounds = {
        op: to_int(v, f"created[{op}]")
        for op, v in created.items()
        if op in ("gt", "gte", "lt", "lte")
    }

    def keep(event: dict[str, Any]) -> bool:
        if patterns and not any(
            event["type"] == p or (p.endswith("*") and event["type"].startswith(p[:-1]))
            for p in patterns
        ):
            return False
        at = int(event["created"])
        return (
            ("gt" not in bounds or at > bounds["gt"])
            and ("gte" not in bounds or at >= bounds["gte"])
            and ("lt" not in bounds or at < bounds["lt"])
            and ("lte" not in bounds or at <= bounds["lte"])
        )

    return paginate(em, em.ordered("events", keep), params, "/v1/events")


# -- webhook endpoints ----------------------------------------------------------------------


def _enabled_events(value: Any) -> list[str]:
    events = [to_str(e, "enabled_events") for e in to_list(value, "enabled_events")]
    if not events:
        raise required("enabled_events")
    for event in events:
        if event != "*" and not re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", event):
            raise invalid("enabled_events", f"Invalid event type: {event}")
    return events


def _endpoint_url(value: Any) -> str:
    url = to_str(value, "url")
    if not url.startswith(("http://", "https://")):
        raise invalid("url", "Invalid URL: must start with http:// or https://", code="url_invalid")
    return url


@route("/v1/webhook_endpoints", ["POST"])
def create_webhook_endpoint(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params, {"url", "enabled_events", "api_version", "description", "metadata", "connect"}
    )
    url = _endpoint_url(require(params, "url"))
    if "enabled_events" not in params:
        raise required("enabled_events")
    endpoint = build_webhook_endpoint(
        em, url=url, enabled_events=_enabled_events(params["enabled_events"])
    )
    if "api_version" in params:
        endpoint["api_version"] = to_str(params["api_version"], "api_version")
    if "description" in params:
        endpoint["description"] = opt_str(params, "description")
    if "metadata" in params:
        apply_metadata(endpoint, params["metadata"])
    em.insert("webhook_endpoints", endpoint)
    return {**em.render(endpoint), "secret": endpoint["_secret"]}


@route("/v1/webhook_endpoints/<obj_id>", ["GET"])
def retrieve_webhook_endpoint(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("webhook_endpoints", obj_id, "webhook endpoint")


@route("/v1/webhook_endpoints/<obj_id>", ["POST"])
def update_webhook_endpoint(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, {"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = em.get("webhook_endpoints", obj_id, "webhook endpoint")
    if "url" in params:
        endpoint["url"] = _endpoint_url(params["url"])
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params["enabled_events"])
    if "description" in params:
        endpoint["description"] = opt_str(params, "description")
    if "metadata" in params:
        apply_metadata(endpoint, params["metadata"])
    if "disabled" in params:
        endpoint["status"] = "disabled" if to_bool(params["disabled"], "disabled") else "enabled"
    return endpoint


@route("/v1/webhook_endpoints/<obj_id>", ["DELETE"])
def delete_webhook_endpoint(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    endpoint = em.get("webhook_endpoints", obj_id, "webhook endpoint")
    endpoint["deleted"] = True
    return {"id": obj_id, "object": "webhook_endpoint", "deleted": True}


@route("/v1/webhook_endpoints", ["GET"])
def list_webhook_endpoints(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, {"limit", "starting_after", "ending_before"})
    return paginate(em, em.ordered("webhook_endpoints"), params, "/v1/webhook_endpoints")
