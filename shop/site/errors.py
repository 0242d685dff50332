"""Error pages in the site's layout (JSON for the webhook endpoint and JSON clients)."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from shop.extensions import db

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
}


def error_response(status: int, detail: str | None = None) -> Response:
    """The site's error page for `status`, with an optional message the shop wrote itself."""
    title, advice = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if request.path.startswith("/webhooks/") or request.accept_mimetypes.best == "application/json":
        body = {"error": {"status": status, "message": detail or title}}
        return make_response(body, status)
    page = render_template(
        "errors/error.html", status=status, title=title, advice=advice, detail=detail
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
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)


def _own_message(error: HTTPException) -> str | None:
    """Only messages the shop wrote itself (given to abort()) are shown to the visitor."""
    own = error.description and error.description != type(error).description
    return error.description if own and error.code in (400, 404, 409, 429) else None
