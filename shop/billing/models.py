"""Subscriptions, their invoices, the shipments they create, and the Stripe events received."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.accounts.models import Customer
from shop.catalog.models import Plan
from shop.db import Base, TimestampMixin, enum_column, utcnow


class SubscriptionStatus(StrEnum):
    """Stripe's subscription statuses."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


class ShipmentStatus(StrEnum):
    TO_PACK = "to_pack"
    PACKED = "packed"
    SHIPPED = "shipped"


class EventOutcome(StrEnum):
    PROCESSING = "processing"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class CheckoutRecord(Base):
    """A Stripe Checkout Session the shop started, leading back to the plan and the buyer."""

    __tablename__ = "checkouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()

    plan: Mapped[Plan] = relationship()


class Subscription(TimestampMixin, Base):
    """The shop's copy of a Stripe subscription, kept true by webhooks."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus))
    current_period_start: Mapped[datetime | None] = mapped_column()
    current_period_end: Mapped[datetime | None] = mapped_column()
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancel_at: Mapped[datetime | None] = mapped_column()
    canceled_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    # When the state here was last fetched from Stripe. Events are applied by re-fetching the
    # subscription under a lock, so an older snapshot never overwrites newer state.
    stripe_state_at: Mapped[datetime | None] = mapped_column()
    # Set once, by whichever of the success page and the webhook fulfils the checkout first,
    # so the customer gets one confirmation email.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column()

    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship()
    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="subscription", order_by="Shipment.period_start.desc()"
    )


class Invoice(Base):
    """A Stripe invoice of a subscription: one per billing period, paid or not."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    amount_due_cents: Mapped[int] = mapped_column(default=0)
    amount_paid_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="aud")
    period_start: Mapped[datetime | None] = mapped_column()
    period_end: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
    payment_failed_notified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Shipment(TimestampMixin, Base):
    """A box to send for one paid period, addressed as the invoice was (a snapshot)."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    period_start: Mapped[datetime | None] = mapped_column()
    period_end: Mapped[datetime | None] = mapped_column()
    status: Mapped[ShipmentStatus] = mapped_column(
        enum_column(ShipmentStatus), default=ShipmentStatus.TO_PACK
    )
    ship_to_name: Mapped[str] = mapped_column(String(255), default="")
    ship_to_line1: Mapped[str] = mapped_column(String(255), default="")
    ship_to_line2: Mapped[str] = mapped_column(String(255), default="")
    ship_to_city: Mapped[str] = mapped_column(String(120), default="")
    ship_to_state: Mapped[str] = mapped_column(String(120), default="")
    ship_to_postal_code: Mapped[str] = mapped_column(String(20), default="")
    ship_to_country: Mapped[str] = mapped_column(String(2), default="")

    subscription: Mapped[Subscription] = relationship(back_populates="shipments")
    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship()


class WebhookEvent(Base):
    """Every verified Stripe event received, once, with what became of it."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(120), index=True)
    api_version: Mapped[str | None] = mapped_column(String(40))
    stripe_created_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[EventOutcome] = mapped_column(enum_column(EventOutcome))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
