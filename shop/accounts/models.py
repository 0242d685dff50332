"""People who sign in: the shop's admins, and customers (by emailed link)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, TimestampMixin, utcnow


class AdminUser(UserMixin, TimestampMixin, Base):
    """An admin of the shop. Passwords are stored as scrypt hashes only."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_admin: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column()
    # Copied into the session at sign-in; signing out or a new password moves it on, and every
    # session holding the old value (on any device) is over.
    session_epoch: Mapped[int] = mapped_column(default=0)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_admin

    def get_id(self) -> str:
        """Flask-Login's id: the admin and their session epoch, so an ended session stays ended."""
        return f"admin:{self.id}:{self.session_epoch}"


class Customer(TimestampMixin, Base):
    """Someone who buys boxes. Their address is where boxes go unless an invoice says otherwise."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    shipping_name: Mapped[str] = mapped_column(String(255), default="")
    shipping_line1: Mapped[str] = mapped_column(String(255), default="")
    shipping_line2: Mapped[str] = mapped_column(String(255), default="")
    shipping_city: Mapped[str] = mapped_column(String(120), default="")
    shipping_state: Mapped[str] = mapped_column(String(120), default="")
    shipping_postal_code: Mapped[str] = mapped_column(String(20), default="")
    shipping_country: Mapped[str] = mapped_column(String(2), default="")
    last_sign_in_at: Mapped[datetime | None] = mapped_column()
    # Copied into the session at sign-in; signing out moves it on, ending every session.
    session_epoch: Mapped[int] = mapped_column(default=0)


class SignInLink(Base):
    """An emailed sign-in link: only its hash is stored; it works once, for a short time."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # Set when the email is sent (the token is made then, and only its hash kept).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class AdminSignInFailures(Base):
    """Recent failed admin sign-ins for one email (known or not), across every address.

    Keyed by a hash of the normalised email, so a lock looks the same whether or not the
    account exists, and emails someone mistyped are not kept.
    """

    __tablename__ = "admin_sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failure_count: Mapped[int] = mapped_column(default=0)
    lock_count: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
