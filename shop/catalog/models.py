"""The boxes the shop sells and the plans (terms and prices) they are sold on."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, TimestampMixin

TERMS_MONTHS = (1, 3, 6, 12)


class Box(TimestampMixin, Base):
    """A subscription box: what it is, what is inside and how it is presented."""

    __tablename__ = "boxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    tagline: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    whats_inside: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_path: Mapped[str | None] = mapped_column(String(255))
    image_alt: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    plans: Mapped[list[Plan]] = relationship(
        back_populates="box", order_by="Plan.term_months", cascade="all, delete-orphan"
    )


class Plan(TimestampMixin, Base):
    """A box on a term of 1, 3, 6 or 12 months, billed every term at one AUD price."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("box_id", "term_months"),
        CheckConstraint("term_months IN (1, 3, 6, 12)", name="term_months_allowed"),
        CheckConstraint("price_cents > 0", name="price_cents_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id", ondelete="CASCADE"))
    term_months: Mapped[int] = mapped_column()
    price_cents: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="aud")
    # Stable across price changes: the Stripe price carrying it changes, the key does not.
    lookup_key: Mapped[str] = mapped_column(String(120), unique=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    box: Mapped[Box] = relationship(back_populates="plans")

    @property
    def monthly_cents(self) -> int:
        """The price per month, rounded to the cent."""
        return round(self.price_cents / self.term_months)

    def saving_cents(self, monthly_plan: Plan | None) -> int:
        """What this term saves against paying monthly for as long (0 when it saves nothing)."""
        if monthly_plan is None or monthly_plan.term_months != 1:
            return 0
        return max(0, monthly_plan.price_cents * self.term_months - self.price_cents)

    @property
    def term_label(self) -> str:
        return "Monthly" if self.term_months == 1 else f"Every {self.term_months} months"


def lowest_monthly_cents(plans: Iterable[Plan]) -> int | None:
    """A box's "from" price: the least any of these plans costs a month, each plan's price
    divided by its months and rounded to the cent (`Plan.monthly_cents`); None without plans."""
    return min((plan.monthly_cents for plan in plans), default=None)
