"""Who is signed in on this session: a customer (our own key) or an admin (Flask-Login).

Customers do not use Flask-Login: `current_user` is always an admin (or anonymous), and the admin
area trusts `current_user.is_authenticated`. A session holds one person at most: signing in
either way starts a fresh session.

Every person has a session epoch in the database, copied into the session at sign-in and compared
on every request. Signing out (or an admin's new password) moves the epoch on, so every copy of
that person's session cookie, on any device, stops working at once. Customers stay signed in for
CUSTOMER_SESSION_DAYS, renewed by each visit; an admin is signed out ADMIN_SESSION_HOURS after
signing in, however busy. Flask-Login's "remember me" cookie is never issued, and could not sign an
admin in anyway: without the sign-in time this session recorded, a loaded admin is refused.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, session
from flask_login import current_user, login_user, logout_user

from shop.accounts.models import AdminUser, Customer
from shop.accounts.services import end_every_session
from shop.db import utcnow
from shop.extensions import db

CUSTOMER_SESSION_KEY = "customer_id"
CUSTOMER_EPOCH_KEY = "customer_epoch"
ADMIN_SIGNED_IN_AT_KEY = "admin_signed_in_at"
ADMIN_SESSION_EXPIRED = "Your admin session expired; please sign in again."


def renew_session() -> None:
    """Start a fresh session: nothing planted or stored before signing in (or out) survives."""
    session.clear()
    # Flask-WTF caches the signed CSRF token in `g`; it belongs to the session just cleared.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


# -- customers --------------------------------------------------------------------------------


def start_customer_session(customer: Customer) -> None:
    """Sign `customer` in on a fresh session: nothing planted before signing in survives."""
    renew_session()
    session[CUSTOMER_SESSION_KEY] = customer.id
    session[CUSTOMER_EPOCH_KEY] = customer.session_epoch
    # Kept for PERMANENT_SESSION_LIFETIME (CUSTOMER_SESSION_DAYS), renewed by each visit.
    session.permanent = True
    g.current_customer = customer


def end_customer_session() -> None:
    """Sign out everywhere: this session goes, and every other device's copy dies too. Commits."""
    customer = current_customer()
    if customer is not None:
        end_every_session(customer)
    renew_session()
    g.current_customer = None


def current_customer() -> Customer | None:
    """The customer signed in on this session, or None (an admin is not a customer).

    A session from before the customer last signed out is no session: it is forgotten here.
    """
    if "current_customer" not in g:
        customer_id = session.get(CUSTOMER_SESSION_KEY)
        customer = db.session.get(Customer, customer_id) if isinstance(customer_id, int) else None
        # A session from before epochs existed is at epoch 0, where every customer started.
        if customer is not None and session.get(CUSTOMER_EPOCH_KEY, 0) != customer.session_epoch:
            customer = None
        if customer is None and customer_id is not None:
            session.pop(CUSTOMER_SESSION_KEY, None)
            session.pop(CUSTOMER_EPOCH_KEY, None)
        g.current_customer = customer
    return g.current_customer


# -- admins -----------------------------------------------------------------------------------


def start_admin_session(admin: AdminUser) -> None:
    """Sign `admin` in on a fresh session, which lasts ADMIN_SESSION_HOURS from now."""
    renew_session()
    login_user(admin)
    session[ADMIN_SIGNED_IN_AT_KEY] = int(utcnow().timestamp())


def end_admin_session() -> None:
    """Sign the admin out everywhere (every device's session ends). Commits."""
    admin = current_user._get_current_object() if current_user.is_authenticated else None
    logout_user()
    if isinstance(admin, AdminUser):
        end_every_session(admin)
    renew_session()


def load_admin_session(user_id: str) -> AdminUser | None:
    """Flask-Login's user loader: "admin:<id>:<epoch>" of an active admin whose session is young.

    An admin id with an old epoch (signed out since, or a new password) loads nobody; nor does
    one past ADMIN_SESSION_HOURS, which also marks the request so the sign-in page can say why.
    """
    parts = user_id.split(":")
    if len(parts) != 3 or parts[0] != "admin" or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    admin = db.session.get(AdminUser, int(parts[1]))
    if admin is None or not admin.is_active_admin or admin.session_epoch != int(parts[2]):
        return None
    signed_in_at = session.get(ADMIN_SIGNED_IN_AT_KEY)
    lifetime = timedelta(hours=current_app.config["ADMIN_SESSION_HOURS"])
    if (
        not isinstance(signed_in_at, int)
        or utcnow().timestamp() - signed_in_at >= lifetime.total_seconds()
    ):
        g.admin_session_expired = True
        return None
    return admin


def admin_session_expired() -> bool:
    """Whether this request came with an admin session that ran out (see load_admin_session)."""
    return bool(g.get("admin_session_expired"))
