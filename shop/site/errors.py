"""Error pages in the site's layout (JSON for the webhook endpoint and JSON clients).

When the database cannot be reached, every page (and the webhook endpoint, so Stripe retries)
answers 503 with Retry-After, rendered without touching the database, and the outage is logged
as one WARNING line per request, without a traceback: an outage is an operations event, and a
traceback per request would bury the first line that matters. The pool's pre-ping and the
session's removal at the end of each request bring the site back when the database returns,
without a restart.

"Unavailable" means the shop could not talk to the database at all: a connection refused, reset,
closed or timed out, the server shutting down or full (SQLSTATE class 08, 57P01-57P03, 53300), or
no pooled connection free in time. A database that answers with an error is not unavailable: a
lock timeout (55P03), a deadlock (40P01), a serialization failure (40001) or a cancelled
statement (57014) is contention or a bug in the request's own work, so it stays a 500 with its
traceback, where someone will look at it.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, g, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shop.db import is_database_unavailable
from shop.extensions import db, login_manager
from shop.logs import redact_path

logger = logging.getLogger(__name__)

# Seconds a client (or Stripe, or a load balancer) is asked to wait before trying again.
RETRY_AFTER_SECONDS = 30

MESSAGES = {
    400: (
        "Something in that request wasn't right",
        "Please go back, check the form and try again.",
    ),
    403: ("That page isn't yours to see", "If you think it should be, sign in and try again."),
    404: ("We couldn't find that page", "It may have moved. Try our boxes or the blog instead."),
    405: ("That doesn't work here", "This page can't be used that way. Go back and try again."),
    409: ("That's already been sent", "It looks like this arrived twice. Nothing more is needed."),
    413: ("That was too much to send", "Please make it shorter (under 1 MB) and try again."),
    429: (
        "Slow down a little",
        "You're going faster than we allow. Wait a minute, then try again.",
    ),
    500: ("Something went wrong on our side", "We've been told. Please try again in a minute."),
    503: (
        "We're having a short technical problem",
        "The shop will be back in a moment. Please try again in a minute or two.",
    ),
}

# Served when even the error page cannot be rendered; it needs nothing but this string.
PLAIN_503_PAGE = (
    '<!doctype html><html lang="en-AU"><meta charset="utf-8"><title>MuscleBox</title>'
    "<h1>We're having a short technical problem</h1>"
    "<p>The shop will be back in a moment. Please try again in a minute or two.</p></html>"
)


def error_response(
    status: int, detail: str | None = None, *, advice: str | None = None
) -> Response:
    """The site's error page for `status`, with an optional message the shop wrote itself.

    `advice` is what to do next when the shop knows it for this case; it replaces the status's
    general advice, which would otherwise say something different (a 413's "under 1 MB" is the
    ordinary form limit, not an upload's)."""
    title, general_advice = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if request.path.startswith("/webhooks/") or request.accept_mimetypes.best == "application/json":
        body = {"error": {"status": status, "message": detail or advice or title}}
        return make_response(body, status)
    page = render_template(
        "errors/error.html",
        status=status,
        title=title,
        advice=advice or general_advice,
        detail=detail,
    )
    return make_response(page, status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if isinstance(error.response, Response):  # a page the shop built for this error itself
            return error.response
        status = error.code or 500
        response = error_response(status, _own_message(error))
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        if is_database_unavailable(error):
            return database_unavailable_response(error)
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, redact_path(request.path))
        return error_response(500)


def _own_message(error: HTTPException) -> str | None:
    """Only messages the shop wrote itself (given to abort()) are shown to the visitor; the rate
    limiter's own ("5 per 1 minute") reads like a fault code, so a 429 keeps the page's words."""
    own = error.description and error.description != type(error).description
    return error.description if own and error.code in (400, 404, 409) else None


def note_database_unavailable(error: BaseException) -> None:
    """Log the outage as one line and drop the request's broken transaction; never raises."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    logger.warning(
        "database unavailable: %s on %s %s (%s)",
        type(cause).__name__,
        request.method,
        redact_path(request.path),  # a sign-in link's path is a capability
        _first_line(cause),
    )
    # The connection is already gone; the rollback only resets the session's state, and the
    # session is removed (its connection discarded by the pool) when the request ends.
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()


def _first_line(error: BaseException) -> str:
    """The start of an error's message: enough to tell refused from timed out, on one line."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def database_unavailable_response(error: BaseException) -> Response:
    """503 with Retry-After: the site's error page (JSON for webhooks), built without the database."""
    note_database_unavailable(error)
    # Templates ask for the signed-in admin (Flask-Login's current_user) and customer; loading
    # either would query the database again, so this page is rendered for an anonymous visitor.
    g._login_user = login_manager.anonymous_user()
    g.current_customer = None
    try:
        response = error_response(503)
    except Exception as exc:  # the page must not fail the same way: serve the plain one
        logger.error("the 503 page could not render: %s", _first_line(exc))
        response = make_response(PLAIN_503_PAGE, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
