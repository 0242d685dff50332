"""Billing portal sessions: ``POST /v1/billing_portal/sessions``."""

from __future__ import annotations

from typing import Any

from ..api import base_url, route
from ..core import Emulator
from ..errors import invalid
from ..forms import to_str
from ..objects import new_id
from .params import check_params, opt_str, require


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
