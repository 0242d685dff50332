"""Checkout (subscribe button, success page) and the Stripe webhook endpoint."""

from __future__ import annotations

import logging
import re
import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)

from shop.billing.checkout import CheckoutError, complete_checkout, start_checkout
from shop.billing.forms import CheckoutForm
from shop.billing.gateway import (
    NotFoundAtProvider,
    PaymentProviderError,
    WebhookSignatureError,
    gateway,
)
from shop.billing.webhooks import enqueue_event, record_event
from shop.db import LockTimeout
from shop.extensions import csrf, db, limiter

logger = logging.getLogger(__name__)
bp = Blueprint("billing", __name__)

CHECKOUT_SESSION_ID = re.compile(r"^cs_(test|live)_[A-Za-z0-9]{10,250}$")
# Event ids ("evt_1Nq…") and types ("invoice.paid") are short printable ASCII.
STRIPE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,120}")


def _is_stripe_id(value: object) -> bool:
    return isinstance(value, str) and STRIPE_ID.fullmatch(value) is not None


def _current_customer():  # type: ignore[no-untyped-def]
    from shop.accounts.sessions import current_customer

    return current_customer()


@bp.post("/checkout")
@limiter.limit("20 per minute")
def checkout() -> Response:
    form = CheckoutForm()
    if not form.validate():
        abort(400, "Please choose a plan from a box page.")
    # The form's nonce names this press of the button (a double click sends it twice, before
    # any cookie could come back); without one (an old page) every press is its own.
    attempt = form.attempt.data or secrets.token_urlsafe(16)
    try:
        url = start_checkout(form.plan_id.data or 0, _current_customer(), attempt)
    except CheckoutError as exc:
        abort(404, str(exc))
    except PaymentProviderError as exc:
        logger.warning("checkout could not start (stripe request %s)", exc.request_id)
        return _provider_unavailable(retry_plan_id=form.plan_id.data, attempt=form.attempt.data)
    return redirect(url, code=303)


@bp.get("/checkout/success")
def checkout_success() -> Response:
    session_id = request.args.get("session_id", "")
    if not CHECKOUT_SESSION_ID.match(session_id):
        abort(404, "We couldn't find that order.")
    try:
        summary = complete_checkout(session_id)
    except NotFoundAtProvider:
        abort(404, "We couldn't find that order.")
    except PaymentProviderError as exc:
        logger.warning("checkout success page: stripe request %s failed", exc.request_id)
        return _provider_unavailable(retry_url=request.full_path)
    except LockTimeout:
        # A job is applying this subscription's events right now: a moment later it's done.
        db.session.rollback()
        logger.warning("checkout success page: the subscription is busy")
        return _provider_unavailable(retry_url=request.full_path)
    page = render_template(
        "billing/success.html",
        session=summary.session,
        subscription=summary.subscription,
        plan=summary.plan,
        box_months=summary.box_months,
        shipping=(summary.session.get("collected_information") or {}).get("shipping_details"),
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _provider_unavailable(
    retry_plan_id: int | None = None, retry_url: str | None = None, attempt: str | None = None
) -> Response:
    page = render_template(
        "billing/unavailable.html",
        retry_plan_id=retry_plan_id,
        retry_url=retry_url,
        attempt=attempt,
    )
    response = make_response(page, 503)
    response.headers["Retry-After"] = "30"
    return response


@bp.post("/webhooks/stripe")
@csrf.exempt
@limiter.exempt
def stripe_webhook() -> tuple[dict[str, object], int]:
    """Verify, record once, enqueue, answer. 400: not from Stripe; 503 (the database is down,
    see the error handlers): Stripe delivers it again later."""
    payload = request.get_data(cache=False)
    try:
        event = gateway().verify_event(
            payload,
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
        )
    except WebhookSignatureError as exc:
        logger.warning("webhook refused: %s", exc)
        return {"error": str(exc)}, 400
    data = event.get("data")
    if (
        not _is_stripe_id(event.get("id"))
        or not _is_stripe_id(event.get("type"))
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        return {"error": "Not a Stripe event."}, 400
    record = record_event(event)
    enqueue_event(record)
    return {"received": True, "outcome": record.outcome.value}, 200
