"""Admins (passwords) and customers (single-use sign-in links sent by email)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.models import AdminUser, Customer, SignInLink
from shop.accounts.queries import customer_by_email, recent_sign_in_link_count
from shop.db import advisory_lock, utcnow
from shop.extensions import db
from shop.mail import send_email_after_response
from shop.urls import absolute_url

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
# Verifying against this when the email is unknown keeps the response time the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


class SignInLinkInvalid(Exception):
    """The sign-in link is unknown, expired or already used (perhaps a moment ago, elsewhere)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_or_create_customer(email: str, name: str = "") -> Customer:
    """The one account for an email, created if need be. Does not commit.

    Two first events for one email at the same moment (two Stripe customers, say) must end on
    one account: the email is locked for the transaction before it is looked up.
    """
    email = normalise_email(email)
    advisory_lock(db.session, f"customer-email:{email}")
    customer = db.session.scalar(customer_by_email(email).with_for_update())
    if customer is None:
        customer = Customer(email=email, name=name or "")
        db.session.add(customer)
        db.session.flush()
    elif name and not customer.name:
        customer.name = name
    return customer


def set_customer_address(customer: Customer, address: PostalAddress | None) -> None:
    """Keep the account's shipping address (a whole one; None changes nothing). No commit."""
    if address is not None:
        store_address(customer, "shipping_", address)


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


def hash_token(token: str) -> str:
    """Only this hash of a sign-in token is stored; the token itself is only in the email."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_sign_in_link(email: str) -> bool:
    """Email a sign-in link if `email` belongs to a customer. Commits the link, then sends.

    Returns True when a link is on its way (it is sent after the response). Callers must not tell the visitor: the answer would
    reveal who is a customer. Quietly sends nothing beyond SIGN_IN_LINKS_PER_EMAIL links per
    SIGN_IN_LINK_MINUTES for one customer.
    """
    customer = db.session.scalar(customer_by_email(normalise_email(email)))
    if customer is None:
        return False
    config = current_app.config
    minutes = config["SIGN_IN_LINK_MINUTES"]
    now = utcnow()
    window_start = now - timedelta(minutes=minutes)
    recent = db.session.scalar(recent_sign_in_link_count(customer.id, window_start)) or 0
    if recent >= config["SIGN_IN_LINKS_PER_EMAIL"]:
        logger.info("sign-in link not sent: customer %s asked too often", customer.id)
        return False
    # Links long past their use are of no further interest.
    db.session.execute(
        delete(SignInLink).where(
            SignInLink.customer_id == customer.id,
            SignInLink.expires_at < now - timedelta(days=1),
        )
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        SignInLink(
            customer_id=customer.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    db.session.commit()
    # After the response: how long SMTP takes must not tell who is a customer.
    send_email_after_response(
        customer.email,
        "sign_in_link",
        customer=customer,
        link=absolute_url("accounts.confirm_sign_in", token=token),
        minutes=minutes,
    )
    return True


def redeem_sign_in_link(token: str) -> Customer:
    """Use up a sign-in link and record the sign-in. Commits both together.

    Raises SignInLinkInvalid when the link is unknown, expired or used. Of two requests racing
    with one link only one gets the customer: the link is claimed by a conditional UPDATE.
    """
    now = utcnow()
    token_hash = hash_token(token)
    claimed = db.session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == token_hash,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise SignInLinkInvalid
    customer = db.session.scalars(
        select(Customer)
        .join(SignInLink, SignInLink.customer_id == Customer.id)
        .where(SignInLink.token_hash == token_hash)
    ).one()
    customer.last_sign_in_at = now
    db.session.commit()
    logger.info("customer %s signed in with an emailed link", customer.id)
    return customer
