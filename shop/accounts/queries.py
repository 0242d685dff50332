"""Read-only queries for the customer's account: always scoped to one customer's id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from shop.accounts.models import Customer, SignInLink
from shop.billing.models import BoxStatus, CalendarBox, Shipment, ShipmentStatus, Subscription
from shop.catalog.models import Plan
from shop.comments.models import Comment

PAST_BOXES_SHOWN = 24


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


def upcoming_boxes(customer_id: int) -> Select[tuple[CalendarBox]]:
    """All the customer's boxes still to come (scheduled or held, not yet shipped), soonest
    first, each with its box, plan and shipment loaded."""
    return (
        select(CalendarBox)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.customer_id == customer_id,
            CalendarBox.status != BoxStatus.CANCELLED,
            or_(Shipment.id.is_(None), Shipment.status != ShipmentStatus.SHIPPED),
        )
        .options(
            contains_eager(CalendarBox.shipment),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(CalendarBox.ship_month, CalendarBox.id)
    )


def past_boxes(customer_id: int) -> Select[tuple[CalendarBox]]:
    """The customer's latest PAST_BOXES_SHOWN shipped or cancelled boxes, newest month first."""
    return (
        select(CalendarBox)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.customer_id == customer_id,
            or_(
                CalendarBox.status == BoxStatus.CANCELLED,
                Shipment.status == ShipmentStatus.SHIPPED,
            ),
        )
        .options(
            contains_eager(CalendarBox.shipment),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(CalendarBox.ship_month.desc(), CalendarBox.id.desc())
        .limit(PAST_BOXES_SHOWN)
    )


def last_ship_months(customer_id: int) -> Select[tuple[int, str]]:
    """(subscription id, its latest ship month) for each of the customer's subscriptions with
    boxes: where the next renewal's box falls follows on from it."""
    return (
        select(CalendarBox.subscription_id, func.max(CalendarBox.ship_month))
        .where(CalendarBox.customer_id == customer_id)
        .group_by(CalendarBox.subscription_id)
    )


def packed_box_count(customer_id: int) -> Select[tuple[int]]:
    """How many of the customer's boxes are packed but not shipped: they keep their label."""
    return (
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.customer_id == customer_id, Shipment.status == ShipmentStatus.PACKED)
    )


def own_subscription(customer_id: int, subscription_id: int) -> Select[tuple[Subscription]]:
    """One subscription, only if it is this customer's (with its plan and box)."""
    return (
        select(Subscription)
        .where(Subscription.id == subscription_id, Subscription.customer_id == customer_id)
        .options(joinedload(Subscription.plan).joinedload(Plan.box))
    )


COMMENTS_SHOWN = 100


def customer_list(search: str = "") -> Select[tuple[Customer]]:
    """Customers, newest first; `search` matches the email or name anywhere, case-insensitively,
    as literal text (% and _ too)."""
    query = select(Customer).order_by(Customer.created_at.desc(), Customer.id.desc())
    if search:
        query = query.where(
            or_(
                Customer.email.icontains(search, autoescape=True),
                Customer.name.icontains(search, autoescape=True),
            )
        )
    return query


def comments_by_email(email: str) -> Select[tuple[Comment]]:
    """The latest COMMENTS_SHOWN comments written under this (normalised, lower-case) email,
    whatever its case in the comment, newest first, each with its article."""
    return (
        select(Comment)
        .where(func.lower(Comment.author_email) == email)
        .options(joinedload(Comment.article))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(COMMENTS_SHOWN)
    )


def comment_count_by_email(email: str) -> Select[tuple[int]]:
    return select(func.count(Comment.id)).where(func.lower(Comment.author_email) == email)
