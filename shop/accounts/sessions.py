"""The signed-in customer, kept in the session under a key of its own.

Customers do not use Flask-Login: `current_user` is always an admin (or anonymous), and the admin
area trusts `current_user.is_authenticated`. A customer session only ever holds a customer id.
"""

from __future__ import annotations

from flask import current_app, g, session

from shop.accounts.models import Customer
from shop.extensions import db

CUSTOMER_SESSION_KEY = "customer_id"


def start_customer_session(customer: Customer) -> None:
    """Sign `customer` in on a fresh session: nothing planted before signing in survives."""
    _renew_session()
    session[CUSTOMER_SESSION_KEY] = customer.id
    # Kept for PERMANENT_SESSION_LIFETIME (CUSTOMER_SESSION_DAYS), renewed by each visit.
    session.permanent = True
    g.current_customer = customer


def end_customer_session() -> None:
    """Sign out: the whole session goes, as it would when the browser is closed."""
    _renew_session()
    g.current_customer = None


def current_customer() -> Customer | None:
    """The customer signed in on this session, or None (an admin is not a customer)."""
    if "current_customer" not in g:
        customer_id = session.get(CUSTOMER_SESSION_KEY)
        customer = db.session.get(Customer, customer_id) if isinstance(customer_id, int) else None
        g.current_customer = customer
    return g.current_customer


def _renew_session() -> None:
    session.clear()
    # Flask-WTF caches the signed CSRF token in `g`; it belongs to the session just cleared.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
