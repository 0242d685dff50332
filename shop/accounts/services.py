"""Admins (passwords) and customers (single-use sign-in links sent by email)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.lockout import (
    FORGET_AFTER,
    is_forgotten,
    lock_minutes,
    locked_message,
    minutes_left,
)
from shop.accounts.models import AdminSignInFailures, AdminUser, Customer, SignInLink
from shop.accounts.queries import customer_by_email, recent_sign_in_link_count
from shop.db import advisory_lock, utcnow
from shop.extensions import db
from shop.mail.models import QueuedEmail
from shop.mail.queue import Composed, composer, enqueue_emails, queue_email
from shop.urls import absolute_url

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
# Verifying against this when the email is unknown keeps the response time the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


class AdminSignInLocked(Exception):
    """Too many failed sign-ins for this email: no password is checked until the lock ends."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        super().__init__(locked_message(minutes))


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
    """Create an admin, or reset the password of an existing one. Commits.

    A new password ends every session the admin has (on any device) and lifts a sign-in lock.
    """
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError("That is not an email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    if admin is None:
        admin = AdminUser(email=email, password_hash="", session_epoch=0)
        db.session.add(admin)
    else:
        admin.session_epoch = AdminUser.session_epoch + 1
    admin.password_hash = generate_password_hash(password, method="scrypt")
    admin.is_active_admin = True
    db.session.execute(
        delete(AdminSignInFailures).where(AdminSignInFailures.email_hash == _email_key(email))
    )
    db.session.commit()
    return admin


def authenticate_admin(
    email: str, password: str, *, known_device: bool = False
) -> AdminUser | None:
    """The active admin with these credentials, or None. One transaction per attempt, committed.

    A success records the login time and forgets earlier failures; a failure is counted against
    the email, known or not (see shop.accounts.lockout). Raises AdminSignInLocked, without
    checking the password, while the email is locked, and on the failure that locks it — except
    on a `known_device` (a browser this admin signed in on before, see `device_token`): someone
    locking the account from elsewhere does not lock its owner out.
    """
    email = normalise_email(email)
    key = _email_key(email)
    now = utcnow()
    # Workers counting failures for one email at once must not lose one (or both insert it).
    advisory_lock(db.session, f"admin-sign-in:{key}")
    failures = db.session.scalar(
        select(AdminSignInFailures).where(AdminSignInFailures.email_hash == key).with_for_update()
    )
    locked_until = failures.locked_until if failures is not None else None
    if locked_until is not None and locked_until > now and not known_device:
        db.session.rollback()
        raise AdminSignInLocked(minutes_left(locked_until, now))
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    if admin is None or not admin.is_active_admin:
        check_password_hash(_DUMMY_HASH, password)
        admin = None
    elif not check_password_hash(admin.password_hash, password):
        admin = None
    if admin is None:
        failures = _count_failure(failures, key, now)
        db.session.commit()
        if failures.locked_until is not None and failures.locked_until > now and not known_device:
            raise AdminSignInLocked(minutes_left(failures.locked_until, now))
        return None
    if failures is not None:
        db.session.delete(failures)
    admin.last_login_at = now
    db.session.commit()
    return admin


def device_token(email: str) -> str:
    """A signed token naming the admin email a browser signed in with: kept in a cookie, it
    marks that browser as the admin's own for `authenticate_admin(known_device=True)`."""
    return _device_serializer().dumps(_email_key(normalise_email(email)))


def is_known_device(token: str | None, email: str) -> bool:
    """Whether `token` (from the cookie) was issued to a browser that signed in as `email`
    within ADMIN_DEVICE_DAYS."""
    if not token:
        return False
    max_age = current_app.config["ADMIN_DEVICE_DAYS"] * 24 * 3600
    try:
        key = _device_serializer().loads(token, max_age=max_age)
    except BadSignature:
        return False
    return hmac.compare_digest(str(key), _email_key(normalise_email(email)))


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="admin-known-device")


def _email_key(email: str) -> str:
    """The lockout's key for a normalised email: a hash, so mistyped emails are not kept."""
    return hashlib.sha256(email.encode()).hexdigest()


def _count_failure(
    failures: AdminSignInFailures | None, key: str, now: datetime
) -> AdminSignInFailures:
    """Add one failure for `key`, locking it when there are enough. Does not commit."""
    config = current_app.config
    if failures is None:
        failures = AdminSignInFailures(email_hash=key, failure_count=0, lock_count=0)
        db.session.add(failures)
    elif is_forgotten(failures.last_failed_at, now):
        failures.failure_count = failures.lock_count = 0
    failures.failure_count += 1
    failures.last_failed_at = now
    if failures.failure_count >= config["ADMIN_LOCKOUT_FAILURES"]:
        failures.lock_count += 1
        failures.failure_count = 0
        minutes = lock_minutes(failures.lock_count, config["ADMIN_LOCKOUT_MINUTES"])
        failures.locked_until = now + timedelta(minutes=minutes)
    # Rows of long-forgotten failures are of no further use (and someone may send many emails).
    db.session.execute(
        delete(AdminSignInFailures).where(
            AdminSignInFailures.last_failed_at < now - FORGET_AFTER,
            AdminSignInFailures.email_hash != key,
            or_(
                AdminSignInFailures.locked_until.is_(None),
                AdminSignInFailures.locked_until < now,
            ),
        )
    )
    return failures


def end_every_session(person: Customer | AdminUser) -> None:
    """Move the person's session epoch on: every session they have, on any device, ends.

    Commits. The increment happens in the database, so two sign-outs at once both count.
    """
    model = type(person)
    db.session.execute(
        update(model)
        .where(model.id == person.id)
        .values(session_epoch=model.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def hash_token(token: str) -> str:
    """Only this hash of a sign-in token is stored; the token itself is only in the email."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_sign_in_link(email: str) -> bool:
    """Queue a sign-in link email if `email` belongs to a customer. Commits.

    Returns True when a link is on its way. Callers must not tell the visitor: the answer would
    reveal who is a customer (and the page takes as long either way: it only queues). Quietly
    sends nothing beyond SIGN_IN_LINKS_PER_EMAIL links per SIGN_IN_LINK_MINUTES for one customer.
    The link itself is made when the email is sent (`compose_sign_in_link`), so no usable token
    waits in the database or the queue.
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
    link = SignInLink(
        customer_id=customer.id, created_at=now, expires_at=now + timedelta(minutes=minutes)
    )
    db.session.add(link)
    db.session.flush()
    queued, _ = queue_email(customer.id, "sign_in_link", f"sign_in_link:{link.id}", link_id=link.id)
    db.session.commit()
    enqueue_emails([queued])
    return True


@composer("sign_in_link")
def compose_sign_in_link(email: QueuedEmail) -> Composed | None:
    """The sign-in email, with a link made now: it works for SIGN_IN_LINK_MINUTES from sending.

    Dropped when the link was used or is older than a day (nobody waits that long to sign in).
    The token is the same each time this link's email is composed (`_link_token`), so an email
    sent again after a lost acknowledgement carries a link that works, as the first copy's does.
    """
    link = db.session.get(SignInLink, email.context.get("link_id", 0))
    customer = db.session.get(Customer, email.customer_id)
    now = utcnow()
    if link is None or customer is None or link.used_at is not None:
        return None
    if link.created_at < now - timedelta(days=1):
        return None
    minutes = current_app.config["SIGN_IN_LINK_MINUTES"]
    token = _link_token(link)
    link.token_hash = hash_token(token)
    link.expires_at = now + timedelta(minutes=minutes)
    return Composed(
        to=customer.email,
        context={
            "customer": customer,
            "link": absolute_url("accounts.confirm_sign_in", token=token),
            "minutes": minutes,
        },
    )


def _link_token(link: SignInLink) -> str:
    """The link's token: a keyed hash of the link, so it can be made again but only with
    SECRET_KEY, and the database (which keeps only the token's own hash) cannot make it."""
    message = f"sign-in-link:{link.id}:{link.customer_id}:{link.created_at.isoformat()}"
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), message.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


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
