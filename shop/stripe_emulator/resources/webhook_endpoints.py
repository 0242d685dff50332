"""Webhook endpoints: ``/v1/webhook_endpoints`` (the secret is only in the create answer)."""

from __future__ import annotations

import re
from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import invalid, required
from ..forms import to_bool, to_list, to_str
from ..objects import build_webhook_endpoint
from .params import apply_metadata, check_params, opt_str, require


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
