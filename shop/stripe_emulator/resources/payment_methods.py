"""Payment methods: ``GET /v1/payment_methods/{id}`` (cards are made by hosted pages)."""

from __future__ import annotations

from typing import Any

from ..api import route
from ..core import Emulator


@route("/v1/payment_methods/<obj_id>", ["GET"])
def retrieve_payment_method(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("payment_methods", obj_id, "PaymentMethod")
