"""Logs hold no personal data, capability URL or secret.

The shop's own log lines name people by id, and emails by `shop.mail.services.mask`. What the
libraries under it would log is cut here: SQLAlchemy's parameters are hidden by the engine option
`hide_parameters` (shop.config), and these filters drop SQLAlchemy's result rows and the Stripe
library's request and response bodies, and replace the checkout session ids in the URLs that it
and urllib3 log (the success page's `?session_id=cs_...` is a capability). `redact_path` keeps sign-in tokens and query strings
out of request logs (the development server uses `RedactedRequestHandler`).
"""

from __future__ import annotations

import logging
import re

from werkzeug.serving import WSGIRequestHandler

_CHECKOUT_SESSION_ID = re.compile(r"\bcs_(?:test|live)_[A-Za-z0-9]+")
_SIGN_IN_LINK = re.compile(r"^(/account/login/)(?!check-email$)[^/?#]+")
REDACTED = "[redacted]"


def redact_path(path: str) -> str:
    """A request path fit for a log: no query string (it may carry a checkout session id), and
    a sign-in link's token replaced."""
    path = path.split("?", 1)[0]
    return _SIGN_IN_LINK.sub(rf"\1{REDACTED}", path)


def redact_text(text: str) -> str:
    """`text` with checkout session ids replaced."""
    return _CHECKOUT_SESSION_ID.sub(f"cs_{REDACTED}", text)


class DropSqlRows(logging.Filter):
    """SQLAlchemy at DEBUG logs every row it reads (emails, addresses): never those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith("Row %r"))


class RedactStripe(logging.Filter):
    """The stripe library at DEBUG logs request and response bodies (emails, addresses), and at
    INFO URLs holding checkout session ids: the bodies go, the ids are replaced."""

    BODIES = ("message='Post details'", "message='API response body'")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(body in message for body in self.BODIES):
            return False
        record.msg, record.args = redact_text(message), None
        return True


class RedactIds(logging.Filter):
    """Replace checkout session ids (urllib3, under the stripe library, logs each URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        return True


class RedactedRequestHandler(WSGIRequestHandler):
    """The development server's access log, without tokens or query strings."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        method, _, rest = self.requestline.partition(" ")
        target, _, protocol = rest.rpartition(" ")
        line = f"{method} {redact_path(target or rest)} {protocol}".strip()
        self.log("info", '"%s" %s %s', line, code, size)


def install_log_filters() -> None:
    """Attach the filters to the loggers whose records they concern (idempotent)."""
    for name, filter_ in (
        ("sqlalchemy.engine.Engine", DropSqlRows()),
        ("stripe", RedactStripe()),
        ("urllib3.connectionpool", RedactIds()),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, type(filter_)) for existing in logger.filters):
            logger.addFilter(filter_)
