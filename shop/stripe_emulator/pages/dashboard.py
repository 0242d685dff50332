"""The emulator's own pages: the dashboard (``/_emulator/``), the clock, deliveries, resets.

The JSON endpoints answer scripts and the ``stripe-clock`` command; the dashboard's buttons post
``from=dashboard`` and are redirected back to it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Response, jsonify, redirect, render_template, request, url_for

from ..api import emulator
from ..errors import StripeError
from ..webhooks import resend
from .blueprint import bp


def _wants_html() -> bool:
    return request.form.get("from") == "dashboard"


@bp.route("/_emulator/", methods=["GET"])
def dashboard() -> Any:
    """Events, webhook endpoints and deliveries, with the clock."""
    em = emulator()
    with em.lock:
        events = em.render(em.ordered("events")[:100])
        deliveries = em.render(em.ordered("deliveries")[:100])
        endpoints = em.render(em.ordered("webhook_endpoints"))
        now = em.now()
    return render_template(
        "stripe_emulator/dashboard.html",
        events=events,
        deliveries=deliveries,
        endpoints=endpoints,
        now=now,
        account_name=em.account_name,
    )


@bp.route("/_emulator/clock", methods=["GET"])
def clock() -> Response:
    """The emulator's current time as JSON."""
    em = emulator()
    with em.lock:
        now = em.now()
    return jsonify(
        {
            "now": now,
            "iso": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(),
            "offset": em.data["clock"]["offset"],
        }
    )


@bp.route("/_emulator/clock/advance", methods=["POST"])
def advance_clock() -> Any:
    """Advance by ``seconds``/``minutes``/``hours``/``days`` (form or JSON); runs due renewals."""
    values: dict[str, Any] = dict(request.form)
    if request.is_json:
        payload = request.get_json(silent=True)
        if isinstance(payload, dict):
            values.update(payload)
    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    total = 0
    try:
        for key, factor in units.items():
            if values.get(key) not in (None, ""):
                amount = float(values[key]) * factor
                if not math.isfinite(amount) or abs(amount) > 100 * 366 * 86400:  # a century
                    raise ValueError(key)
                total += int(amount)
    except (TypeError, ValueError, OverflowError):
        return jsonify(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "seconds, minutes, hours and days must be numbers.",
                }
            }
        ), 400
    if total <= 0 or total > 10 * 365 * 86400:
        return jsonify(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Advance by a positive amount of time (at most ten years).",
                }
            }
        ), 400
    result = emulator().advance(total)
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify(result)


@bp.route("/_emulator/deliveries/run", methods=["POST"])
def run_deliveries() -> Any:
    """Deliver every pending webhook now, ignoring backoff."""
    attempts = emulator().deliver_pending(force=True)
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"attempts": attempts})


@bp.route("/_emulator/events/<event_id>/resend", methods=["POST"])
def resend_event(event_id: str) -> Any:
    """Queue the event again for every matching endpoint."""
    em = emulator()
    try:
        deliveries = resend(em, event_id)
    except StripeError as exc:
        return jsonify(exc.body()), exc.status
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"queued": [d["id"] for d in deliveries]})


@bp.route("/_emulator/reset", methods=["POST"])
def reset() -> Any:
    """Forget everything (development convenience)."""
    emulator().reset()
    if _wants_html():
        return redirect(url_for("stripe_pages.dashboard"), code=303)
    return jsonify({"reset": True})
