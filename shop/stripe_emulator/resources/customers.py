"""Customers: ``/v1/customers``, including shipping and address updates."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..billing.cards import resolve_payment_method
from ..billing.subscriptions import end_subscription
from ..core import Emulator
from ..errors import invalid
from ..forms import to_dict, to_list, to_str
from ..objects import build_customer
from .params import EMAIL_RE, apply_metadata, check_params, opt_str, parse_address, parse_shipping

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
                pm_id = resolve_payment_method(em, pm_id, customer["id"], param)
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
            end_subscription(em, sub, "cancellation_requested")
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
