"""Events: ``/v1/events`` (retrieve, list with type and created filters)."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..forms import to_dict, to_int, to_list, to_str
from .params import check_params


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
