"""The ``/v1`` JSON API: authentication, parameter decoding, idempotency, expansion, lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, request

from .core import Emulator
from .errors import StripeError, invalid, missing
from .forms import decode_params, to_int, to_list
from .objects import new_id
from .state import API_VERSION

bp = Blueprint("stripe_api", __name__)

Handler = Callable[..., Any]


def emulator() -> Emulator:
    """The Emulator behind the current app."""
    return current_app.extensions["stripe_emulator"]


def base_url() -> str:
    """The emulator's public address for hosted page links (Checkout and portal ``url``)."""
    return emulator().public_base_url or request.host_url.rstrip("/")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Stripe's headers."""
    response = Response(
        json.dumps(body, indent=2) + "\n", status=status, mimetype="application/json"
    )
    response.headers["Request-Id"] = getattr(g, "request_id", None) or new_id("req_", 14)
    response.headers["Stripe-Version"] = API_VERSION
    response.headers["Cache-Control"] = "no-cache, no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(error: StripeError) -> Response:
    """Render a StripeError."""
    return json_response(error.body(getattr(g, "request_id", None)), error.status)


def authenticate() -> str:
    """The request's secret key; raise 401 when missing, malformed or live."""
    header = request.headers.get("Authorization", "")
    key = ""
    if header.lower().startswith("bearer "):
        key = header[7:].strip()
    elif request.authorization and request.authorization.type == "basic":
        key = request.authorization.username or ""
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise StripeError(
            401,
            "The Stripe emulator refuses live mode keys (sk_live_...). Use a test key "
            "(sk_test_...); live keys belong to the real Stripe API only.",
            code="livemode_mismatch",
        )
    expected = current_app.config.get("STRIPE_EMULATOR_API_KEY")
    if not key.startswith("sk_test_") or (expected and key != expected):
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
        raise StripeError(401, f"Invalid API Key provided: {shown}", code="api_key_invalid")
    return key


def request_params() -> tuple[dict[str, Any], str]:
    """Decoded params (query string plus form body) and a fingerprint of them."""
    pairs = parse_qsl(request.query_string.decode("utf-8", "replace"), keep_blank_values=True)
    if request.method == "POST":
        body = request.get_data(cache=True).decode("utf-8", "replace")
        content_type = request.mimetype or ""
        if body and content_type not in ("", "application/x-www-form-urlencoded"):
            raise StripeError(
                400,
                "Invalid request: the emulator, like Stripe, expects form-encoded parameters "
                "(application/x-www-form-urlencoded).",
            )
        pairs += parse_qsl(body, keep_blank_values=True)
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.path, sorted(pairs)]).encode()
    ).hexdigest()
    return decode_params(pairs), fingerprint


def expand_paths(params: dict[str, Any]) -> list[str]:
    """The ``expand[]`` values."""
    paths = to_list(params.get("expand", []), "expand")
    for path in paths:
        if not isinstance(path, str) or not path:
            raise invalid("expand", "Invalid expand: each entry must be a property path string.")
    return paths


def expand(em: Emulator, node: Any, parts: list[str], path: str, depth: int = 0) -> Any:
    """Replace ids along a dotted path with their objects."""
    if not parts or node is None:
        return node
    if depth > 4:
        raise invalid("expand", "You cannot expand more than 4 levels of a property.")
    if isinstance(node, list):
        return [expand(em, item, parts, path, depth) for item in node]
    if not isinstance(node, dict):
        raise invalid("expand", f"This property cannot be expanded ({path}).")
    key, rest = parts[0], parts[1:]
    if node.get("object") == "checkout.session" and key == "line_items":
        items = em.data["checkout_line_items"].get(node["id"], [])
        value: Any = {
            "object": "list",
            "data": em.render(items),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{node['id']}/line_items",
        }
    elif node.get("object") == "customer" and key == "subscriptions":
        subs = em.ordered(
            "subscriptions",
            lambda sub: sub["customer"] == node["id"] and sub["status"] != "canceled",
        )
        value = {
            "object": "list",
            "data": em.render(subs),
            "has_more": False,
            "url": f"/v1/customers/{node['id']}/subscriptions",
        }
    elif key in node:
        value = node[key]
        if isinstance(value, str):
            found = em.lookup(value)
            value = em.render(found) if found is not None else value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = [em.render(em.lookup(v)) if em.lookup(v) else v for v in value]
    else:
        raise invalid("expand", f"This property cannot be expanded ({path}).")
    node[key] = expand(em, value, rest, path, depth + 1) if rest else value
    return node


def paginate(
    em: Emulator, objects: list[dict[str, Any]], params: dict[str, Any], url: str
) -> dict[str, Any]:
    """Stripe's cursor pagination over newest-first objects."""
    limit = to_int(params.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise invalid("limit", "Invalid limit: must be between 1 and 100.")
    after = params.get("starting_after")
    before = params.get("ending_before")
    if after and before:
        raise invalid(
            "starting_after",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    ids = [o["id"] for o in objects]
    if after:
        if after not in ids:
            raise missing("object", str(after), "starting_after")
        start = ids.index(after) + 1
        page = objects[start : start + limit]
        has_more = start + limit < len(objects)
    elif before:
        if before not in ids:
            raise missing("object", str(before), "ending_before")
        end = ids.index(before)
        page = objects[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        page = objects[:limit]
        has_more = len(objects) > limit
    return {"object": "list", "data": em.render(page), "has_more": has_more, "url": url}


def dispatch(handler: Handler, kwargs: dict[str, Any]) -> Response:
    """Run one API call: auth, params, idempotency, the handler, expansion, Stripe errors."""
    em = emulator()
    g.request_id = new_id("req_", 14)
    idempotency_key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    try:
        api_key = authenticate()
        params, fingerprint = request_params()
    except StripeError as exc:
        return error_response(exc)
    with em.lock:
        store_key = f"{api_key}:{idempotency_key}" if idempotency_key else None
        if store_key:
            stored = em.idempotent_lookup(store_key)
            if stored is not None:
                if stored["fingerprint"] != fingerprint:
                    return error_response(
                        StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idempotency_key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    )
                return json_response(
                    stored["body"],
                    stored["status"],
                    {
                        "Idempotent-Replayed": "true",
                        "Original-Request": stored["request_id"],
                        "Idempotency-Key": idempotency_key or "",
                    },
                )
        try:
            with em.transaction(persist=request.method != "GET"):
                em.tick()
                with em.request_context(g.request_id, idempotency_key):
                    if request.method == "GET":
                        status, body = run_handler(em, handler, params, kwargs)
                    else:
                        with em.atomic():
                            status, body = run_handler(em, handler, params, kwargs)
        except StripeError as exc:
            status, body = exc.status, exc.body(g.request_id)
        # As on Stripe, a request whose parameters failed validation never started, so its
        # key is not used up: the corrected request may reuse it.
        rejected_params = status == 400 and bool((body.get("error") or {}).get("param"))
        if store_key and status < 500 and not rejected_params:
            em.idempotent_store(
                store_key,
                {
                    "fingerprint": fingerprint,
                    "status": status,
                    "body": body,
                    "request_id": g.request_id,
                },
            )
            em.save()
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return json_response(body, status, headers)


def run_handler(
    em: Emulator, handler: Handler, params: dict[str, Any], kwargs: dict[str, Any]
) -> tuple[int, Any]:
    """Call a handler and render its result with the requested expansions."""
    paths = expand_paths(params)
    result = handler(em, params, **kwargs)
    status = 200
    if isinstance(result, tuple):
        result, status = result
    body = em.render(result)
    for path in paths:
        body = expand(em, body, path.split("."), path)
    return status, body


def route(rule: str, methods: list[str]) -> Callable[[Handler], Handler]:
    """Register an API handler ``handler(em, params, **url_args)`` under ``rule``."""

    def decorator(handler: Handler) -> Handler:
        def view(**kwargs: Any) -> Response:
            return dispatch(handler, kwargs)

        bp.add_url_rule(
            rule,
            endpoint=f"{handler.__name__}_{'_'.join(methods)}",
            view_func=view,
            methods=methods,
        )
        return handler

    return decorator
