"""Creating admins and checking their passwords."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from shop.accounts.models import AdminUser
from shop.db import utcnow
from shop.extensions import db

MIN_PASSWORD_LENGTH = 12
# Verifying against this when the email is unknown keeps the response time the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_admin(email: str, password: str) -> AdminUser:
    """Create an admin, or reset the password of an existing one. Commits."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError("That is not an email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    if admin is None:
        admin = AdminUser(email=email, password_hash="")
        db.session.add(admin)
    admin.password_hash = generate_password_hash(password, method="scrypt")
    admin.is_active_admin = True
    db.session.commit()
    return admin


def authenticate_admin(email: str, password: str) -> AdminUser | None:
    """The active admin with these credentials, or None. Records the login time and commits."""
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))
    if admin is None or not admin.is_active_admin:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(admin.password_hash, password):
        return None
    admin.last_login_at = utcnow()
    db.session.commit()
    return admin


def load_admin(user_id: str) -> AdminUser | None:
    """Flask-Login's user loader: session ids look like "admin:<id>"."""
    kind, _, raw_id = user_id.partition(":")
    if kind != "admin" or not raw_id.isdigit():
        return None
    admin = db.session.get(AdminUser, int(raw_id))
    return admin if admin is not None and admin.is_active_admin else None
