"""Subscriptions, their invoices, the box calendar, shipments, and the Stripe events received.

A paid invoice grants its plan's boxes (`CalendarBox`, one per month of the term, each with a ship
month); the monthly shipping run turns a month's scheduled boxes into `Shipment`s, addressed as
the subscription's address is at the run. The rules are in `shop.billing.calendar`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.accounts.models import Customer
from shop.catalog.models import Box, Plan
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


class BoxStatus(StrEnum):
    """Where a paid-for box stands before it is shipped."""

    SCHEDULED = "scheduled"  # waits for its month's shipping run (or is in it)
    HELD = "held"  # the subscription ended early: an admin decides to send or cancel it
    CANCELLED = "cancelled"  # an admin cancelled it; it is never shipped


class EventOutcome(StrEnum):
    QUEUED = "queued"  # recorded, to be applied by a job at next_attempt_at
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


class ShipToMixin:
    """A whole postal address a box goes to (never a mix of two)."""

    ship_to_name: Mapped[str] = mapped_column(String(255), default="")
    ship_to_line1: Mapped[str] = mapped_column(String(255), default="")
    ship_to_line2: Mapped[str] = mapped_column(String(255), default="")
    ship_to_city: Mapped[str] = mapped_column(String(120), default="")
    ship_to_state: Mapped[str] = mapped_column(String(120), default="")
    ship_to_postal_code: Mapped[str] = mapped_column(String(20), default="")
    ship_to_country: Mapped[str] = mapped_column(String(2), default="")


class Subscription(ShipToMixin, TimestampMixin, Base):
    """The shop's copy of a Stripe subscription, kept true by webhooks.

    Its ship_to_* address is where its boxes go: the address of the Stripe customer that pays
    for it (one person may have several, e.g. after buying again while signed out).
    """

    __tablename__ = "subscriptions"
    # The admin's subscriptions list, newest first: its first page is read from this index
    # instead of sorting every subscription (bench/results: 94 ms -> about 1 ms at 20,000).
    __table_args__ = (Index("ix_subscriptions_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
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
    # Stripe's pause_collection: set while the next renewal is skipped (no charge, no box).
    pause_behavior: Mapped[str | None] = mapped_column(String(20))
    pause_resumes_at: Mapped[datetime | None] = mapped_column()
    # When the state here was last fetched from Stripe. Events are applied by re-fetching the
    # subscription under a lock, so an older snapshot never overwrites newer state.
    stripe_state_at: Mapped[datetime | None] = mapped_column()
    # Set once, by whichever of the success page and the webhook fulfils the checkout first,
    # so the customer gets one confirmation email.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column()

    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship()

    @property
    def is_skipping(self) -> bool:
        return self.pause_behavior is not None


class Invoice(Base):
    """A Stripe invoice of a subscription: one per billing period, paid or not."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    # The plan this invoice paid for a whole period (None for a proration or one-off).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20))
    amount_due_cents: Mapped[int] = mapped_column(default=0)
    amount_paid_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="aud")
    period_start: Mapped[datetime | None] = mapped_column()
    period_end: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
    payment_failed_notified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarBox(TimestampMixin, Base):
    """One box a paid invoice grants: box `sequence` of `term_months`, to ship in `ship_month`.

    The database holds the calendar's promises: one box per subscription per month, and at most
    a term's worth of boxes per invoice, whatever order or number of webhooks arrive.
    """

    __tablename__ = "calendar_boxes"
    __table_args__ = (
        UniqueConstraint("subscription_id", "ship_month"),
        UniqueConstraint("invoice_id", "sequence"),
        CheckConstraint("sequence >= 1 AND sequence <= term_months", name="sequence_in_term"),
        Index("ix_calendar_boxes_ship_month_status", "ship_month", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT")
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id", ondelete="RESTRICT"))
    ship_month: Mapped[str] = mapped_column(String(7))
    sequence: Mapped[int] = mapped_column()
    term_months: Mapped[int] = mapped_column()
    status: Mapped[BoxStatus] = mapped_column(enum_column(BoxStatus), default=BoxStatus.SCHEDULED)
    held_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()

    subscription: Mapped[Subscription] = relationship()
    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship()
    box: Mapped[Box] = relationship()
    shipment: Mapped[Shipment | None] = relationship(back_populates="calendar_box")


class Shipment(ShipToMixin, TimestampMixin, Base):
    """A calendar box in its month's shipping run, addressed as its subscription was at the run."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_status_created_at", "status", "created_at"),
        Index("ix_shipments_ship_month_status", "ship_month", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_box_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_boxes.id", ondelete="RESTRICT"), unique=True
    )
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    ship_month: Mapped[str] = mapped_column(String(7))
    status: Mapped[ShipmentStatus] = mapped_column(
        enum_column(ShipmentStatus), default=ShipmentStatus.TO_PACK
    )
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    packed_at: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    shipped_email_sent_at: Mapped[datetime | None] = mapped_column()
    # The customer moved after the run, before packing: the label must be printed again.
    address_changed_at: Mapped[datetime | None] = mapped_column()

    calendar_box: Mapped[CalendarBox] = relationship(back_populates="shipment")
    subscription: Mapped[Subscription] = relationship()
    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship()
    box: Mapped[Box] = relationship()


class WebhookEvent(Base):
    """Every verified Stripe event received, once, with what became of it."""

    __tablename__ = "webhook_events"
    # Every admin page counts failed events and overdue queued ones (the admin bar's badges, the
    # sweep): by outcome, then due time, without reading every event ever received.
    __table_args__ = (
        Index("ix_webhook_events_outcome_next_attempt_at", "outcome", "next_attempt_at"),
    )

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
    # When a job should (next) apply it; the sweep enqueues queued events long past this.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the event is about, read from its payload when it is recorded (see
    # `shop.billing.webhooks.event_subjects`), so a subscription's history is one indexed query.
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
