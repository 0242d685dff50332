"""Reading what the shop emailed: the development outbox, as a test sees it."""

from __future__ import annotations

import re

from shop.extensions import db
from shop.mail.models import OutboxMessage
from shop.mail.queries import outbox_messages
from shop.mail.services import MailNotSent, deliver_rendered, render_email

_SIGN_IN_LINK = re.compile(r"https?://\S+/account/login/[A-Za-z0-9_-]+")


def sent_emails(to: str | None = None) -> list[OutboxMessage]:
    """Every email in the outbox (to `to` only, when given), oldest first."""
    return list(reversed(db.session.scalars(outbox_messages(to)).all()))


def sign_in_link_in(message: OutboxMessage) -> str:
    """The sign-in link in the plain-text part, as a reader would copy it."""
    links = _SIGN_IN_LINK.findall(message.text_body)
    assert len(links) == 1, message.text_body
    return links[0]


def send_now(to: str, template: str, **context: object) -> bool:
    """Render and deliver one email at once, as the queue's job does, for tests of the templates
    and of delivery. True when sent (or kept in the outbox); False when not."""
    try:
        deliver_rendered(to, render_email(template, **context))
    except MailNotSent:
        return False
    return True
