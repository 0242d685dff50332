"""Read-only queries for the customer's account: always scoped to one customer's id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from shop.accounts.models import Customer, SignInLink
from shop.billing.models import Shipment, Subscription
from shop.catalog.models import Box, Plan

SHIPMENTS_SHOWN = 24


def customer_by_email(email: str) -> Select[tuple[Customer]]:
    """The customer with this (already normalised, lower-case) email, whatever its case."""
    return select(Customer).where(func.lower(Customer.email) == email)


def usable_sign_in_link(token_hash: str, now: datetime) -> Select[tuple[SignInLink]]:
    """The link with this hash if it is unused and unexpired at `now`."""
    return select(SignInLink).where(
        SignInLink.token_hash == token_hash,
        SignInLink.used_at.is_(None),
        SignInLink.expires_at > now,
    )


def recent_sign_in_link_count(customer_id: int, since: datetime) -> Select[tuple[int]]:
    return (
        select(func.count())
        .select_from(SignInLink)
        .where(SignInLink.customer_id == customer_id, SignInLink.created_at > since)
    )


def subscriptions_of(customer_id: int) -> Select[tuple[Subscription]]:
    """The customer's subscriptions with their plan and box, newest first."""
    return (
        select(Subscription)
        .where(Subscription.customer_id == customer_id)
        .options(joinedload(Subscription.plan).joinedload(Plan.box))
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )


def shipments_of(customer_id: int) -> Select[tuple[Shipment, Box]]:
    """The customer's most recent shipments with the box sent, latest period first."""
    return (
        select(Shipment, Box)
        .join(Box, Box.id == Shipment.box_id)
        .where(Shipment.customer_id == customer_id)
        .order_by(Shipment.period_start.desc().nulls_last(), Shipment.id.desc())
        .limit(SHIPMENTS_SHOWN)
    )
