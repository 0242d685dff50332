"""Invoices: ``/v1/invoices`` (retrieve, lines, list); renewals create them."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import invalid
from .params import check_params

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


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
    status = params.get("status")
    if status is not None and status not in INVOICE_STATUSES:
        raise invalid("status", f"Invalid status: must be one of {', '.join(INVOICE_STATUSES)}")
    filters = {k: params[k] for k in ("customer", "status") if k in params}
    subscription = params.get("subscription")

    def keep(invoice: dict[str, Any]) -> bool:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        return all(invoice.get(k) == v for k, v in filters.items()) and (
            subscription is None or details.get("subscription") == subscription
        )

    objects = em.ordered("invoices", keep)
    return paginate(em, objects, params, "/v1/invoices")
