"""Sending the shop's emails, each with a plain-text and an HTML part.

`render_email(template, *, subject=None, **context)` renders `templates/mail/<template>.txt`
(which sets `subject`, unless the call passes one) and `templates/mail/<template>.html`
(autoescaped); `deliver_rendered(to, rendered, message_id=None)` delivers the message:

- by SMTP when MAIL_URL is set: `smtp://user:password@host:587` (STARTTLS; the password is never
  sent unencrypted), `smtps://user:password@host:465` (TLS from the start) or
  `smtp://127.0.0.1:1025` (a local relay or catcher, no password);
- otherwise into the `outbox_messages` table (development and tests; read it at /dev/outbox or
  with `shop.mail.queries.outbox_messages()`). In production without MAIL_URL nothing is kept:
  an emailed sign-in link must not sit in the database.

Pages, webhooks and commands never send an email themselves: they queue it with the change it
tells about (`shop.mail.queue`), and a job sends it with `deliver_rendered`, which raises
`MailNotSent` (its message names neither the recipient nor the message's links). The outbox row is
written in a session of its own, never in the caller's transaction.

The messages and the context each expects:

- ``sign_in_link``: ``customer`` (Customer), ``link`` (absolute sign-in URL), ``minutes`` (int,
  how long the link works).
- ``subscription_confirmed``: ``customer``, ``subscription`` (Subscription; its ``plan.box`` is
  read).
- ``payment_failed``: ``customer``, ``subscription``, and optionally ``account_url`` (absolute URL
  of the page where the card is updated; default ``{SITE_URL}/account/``).
- ``subscription_ended``: ``customer``, ``subscription``.
- ``box_shipped``: ``customer``, ``shipment`` (Shipment; its ship_to_* address, tracking number,
  carrier and ``calendar_box`` are read), ``box_name``, ``tracking_url`` (the carrier's tracking
  page, or None), and optionally ``account_url``.

Templates also get the site's template globals (``site_name``, ``site_url``, ``absolute_url``) and
the date filters ``short_date`` ("3 Jan") and ``long_date`` ("3 January 2027").
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, has_request_context
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.db import utcnow
from shop.extensions import db
from shop.mail.models import OutboxMessage

logger = logging.getLogger(__name__)

MESSAGES = (
    "sign_in_link",
    "subscription_confirmed",
    "payment_failed",
    "subscription_ended",
    "box_shipped",
)


class InsecureMailServer(smtplib.SMTPException):
    """The SMTP server offers no STARTTLS, so the password would travel unencrypted."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class MailNotSent(Exception):
    """The message was not sent; `str()` says why, without the recipient or the message."""


def deliver_rendered(to: str, rendered: RenderedEmail, *, message_id: str | None = None) -> None:
    """Send (or keep in the outbox) an email already rendered. Raises MailNotSent."""
    config = current_app.config
    if not config["MAIL_URL"]:
        if config["SHOP_ENV"] == "production":
            raise MailNotSent("MAIL_URL is not set")
        _keep_in_outbox(to, rendered)
        return
    try:
        message = build_message(to, rendered, config["MAIL_FROM"])
        if message_id:
            message.replace_header("Message-ID", message_id)
        deliver(config["MAIL_URL"], message, timeout=config["MAIL_TIMEOUT_SECONDS"])
    except (smtplib.SMTPException, OSError, ValueError, MessageError) as exc:
        raise MailNotSent(describe_mail_error(exc)) from exc


def render_email(template: str, *, subject: str | None = None, **context: Any) -> RenderedEmail:
    """The subject, text and HTML of `template` rendered with `context`. Raises on a bad template."""
    with _url_building_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        values = dict(context)
        app.update_template_context(values)
        text = app.jinja_env.get_template(f"mail/{template}.txt").make_module(values)
        # One line, whatever the template or caller wrote: a newline in a header is an injection.
        values["subject"] = " ".join(str(subject or getattr(text, "subject", "")).split())
        if not values["subject"]:
            raise ValueError(f"mail/{template}.txt sets no subject and none was given")
        html = app.jinja_env.get_template(f"mail/{template}.html").render(values)
    return RenderedEmail(subject=values["subject"], text=str(text).strip() + "\n", html=html)


def build_message(to: str, rendered: RenderedEmail, sender: str) -> EmailMessage:
    """A multipart/alternative message: the text part first, the HTML part preferred."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=_sender_domain(message))
    # RFC 3834: tells vacation responders not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def deliver(mail_url: str, message: EmailMessage, *, timeout: float = 10) -> None:
    """Send `message` through the SMTP server in `mail_url`. Raises SMTPException or OSError."""
    parts = urlsplit(mail_url)
    host = parts.hostname or "localhost"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password or "")
    tls = ssl.create_default_context()
    if parts.scheme == "smtps":
        with smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=tls) as smtp:
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
        return
    with smtplib.SMTP(host, parts.port or 587, timeout=timeout) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=tls)
            smtp.ehlo()
        elif username:
            raise InsecureMailServer("the server offers no STARTTLS")
        if username:
            smtp.login(username, password)
        smtp.send_message(message)


def describe_mail_error(exc: BaseException) -> str:
    """What went wrong, without the server's text: it often repeats the recipient's address."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__} (errno {exc.errno})"
    return type(exc).__name__


def _keep_in_outbox(to: str, rendered: RenderedEmail) -> None:
    try:
        with Session(db.engine) as session, session.begin():
            session.add(
                OutboxMessage(
                    to_address=to,
                    subject=rendered.subject,
                    text_body=rendered.text,
                    html_body=rendered.html,
                )
            )
    except SQLAlchemyError as exc:
        raise MailNotSent(f"the outbox could not be written ({exc.code})") from exc


def _sender_domain(message: EmailMessage) -> str | None:
    addresses: tuple[Address, ...] = getattr(message["From"], "addresses", ())
    return addresses[0].domain or None if addresses else None


@contextmanager
def _url_building_context() -> Iterator[None]:
    """url_for needs a request; outside one (CLI, jobs) build URLs against SITE_URL."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/", base_url=current_app.config["SITE_URL"]):
        yield
