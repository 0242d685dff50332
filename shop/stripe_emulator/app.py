"""``create_emulator_app``: the emulator's own Flask app (JSON API, hosted pages, dashboard)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from . import resources  # noqa: F401 - importing it registers the /v1 routes on the blueprint
from .api import bp as api_bp
from .api import error_response
from .core import Emulator, refuse_production
from .errors import StripeError
from .objects import new_id
from .pages import bp as pages_bp


def create_emulator_app(
    emulator: Emulator | None = None,
    *,
    state_path: str | os.PathLike[str] | None = None,
    deliver_async: bool = True,
    retry_delays: Sequence[float] = (2.0, 4.0, 8.0, 16.0),
    delivery_timeout: float = 10.0,
    payment_retry_days: Sequence[int] = (3, 5, 7),
    public_base_url: str | None = None,
    api_key: str | None = None,
    account_name: str = "MuscleBox",
) -> Flask:
    """Build the emulator app around ``emulator`` (or a new one from the keyword options).

    ``state_path`` keeps the state in that SQLite file; ``deliver_async=False`` leaves webhook
    delivery to ``emulator.deliver_pending()``; ``api_key`` restricts access to one test key.
    Raises ProductionRefused when ``SHOP_ENV=production`` or a live key is around.
    """
    refuse_production(api_key)
    em = emulator or Emulator(
        state_path,
        deliver_async=deliver_async,
        retry_delays=retry_delays,
        delivery_timeout=delivery_timeout,
        payment_retry_days=payment_retry_days,
        public_base_url=public_base_url,
        account_name=account_name,
    )
    app = Flask(__name__, static_url_path="/_emulator/static")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["STRIPE_EMULATOR_API_KEY"] = api_key
    app.extensions["stripe_emulator"] = em
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)

    @app.after_request
    def request_id(response: Response) -> Response:
        response.headers.setdefault("Request-Id", new_id("req_", 14))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/v1/") or request.path == "/v1":
            if exc.code == 404 or exc.code == 405:
                message = (
                    f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                    "https://stripe.com/docs or we can help at https://support.stripe.com/."
                )
                return error_response(StripeError(404, message))
            return error_response(StripeError(exc.code or 400, exc.description or "Bad request."))
        status = exc.code or 400
        return render_template(
            "stripe_emulator/message.html",
            title=exc.name,
            message=exc.description,
            link=None,
            account_name=em.account_name,
        ), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        app.logger.exception("Stripe emulator bug")
        if request.path.startswith("/v1/"):
            return error_response(
                StripeError(500, f"The emulator failed: {exc.__class__.__name__}", type="api_error")
            )
        return Response(
            "The Stripe emulator hit an internal error.", status=500, mimetype="text/plain"
        )

    return app
