"""Outgoing email: SMTP when MAIL_URL is set, the development outbox otherwise.

`send_email(to, template, *, subject=None, **context) -> bool` is the public API; its module
(services.py) lists every message and the context it expects. The outbox pages live in views.py
(blueprint `bp`), registered in development only.
"""

from shop.mail.services import send_email, send_email_after_response

__all__ = ["send_email", "send_email_after_response"]
