"""People who sign in: the shop's admins (customers arrive with billing)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, TimestampMixin


class AdminUser(UserMixin, TimestampMixin, Base):
    """An admin of the shop. Passwords are stored as scrypt hashes only."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_admin: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_admin

    def get_id(self) -> str:
        return f"admin:{self.id}"
