"""The development outbox: read the emails the shop would have sent (SHOP_ENV=development only).

The app factory registers this blueprint in development only, so elsewhere /dev/outbox is a 404;
the guard below says so again in case it is ever registered by mistake, and refuses anyone but
this computer itself (the outbox shows sign-in links).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, make_response, render_template
from markupsafe import Markup, escape

from shop.extensions import db
from shop.mail.models import OutboxMessage
from shop.mail.queries import outbox_messages
from shop.site.development import is_loopback_request
from shop.site.params import as_id

bp = Blueprint("mail", __name__, url_prefix="/dev")

MESSAGES_SHOWN = 100
_URL = re.compile(r"https?://[^\s<>\"']+")
# The message page shows the email's own HTML in a sandboxed frame (no scripts, no forms, no
# navigation); emails style themselves inline, so inline styles are allowed on that page only.
MESSAGE_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'none'"
)


@bp.before_request
def development_only() -> None:
    if current_app.config["SHOP_ENV"] != "development":
        abort(404)
    if not is_loopback_request():
        abort(403)


@bp.after_request
def private_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/outbox")
def outbox() -> str:
    messages = db.session.scalars(outbox_messages().limit(MESSAGES_SHOWN)).all()
    return render_template("mail/dev/outbox.html", messages=messages)


@bp.get("/outbox/<raw_id>")
def message(raw_id: str) -> Response:
    email = db.get_or_404(OutboxMessage, as_id(raw_id) or 0)
    page = render_template("mail/dev/message.html", email=email, text_html=linkify(email.text_body))
    response = make_response(page)
    response.headers["Content-Security-Policy"] = MESSAGE_PAGE_POLICY
    return response


def linkify(text: str) -> Markup:
    """Plain text, escaped, with its web addresses made clickable (sign-in links, mostly)."""
    escaped = str(escape(text))
    # Safe: everything was escaped above, and an escaped address cannot leave its quotes.
    return Markup(  # noqa: S704
        _URL.sub(lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', escaped)
    )
