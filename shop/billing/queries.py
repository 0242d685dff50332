"""Read-only selects for billing: a month's shipments and forecast, held boxes, the packing CSV.

A month "has been run" once it has a shipment. Before that its packing list is a forecast: the
month's scheduled calendar boxes, addressed as their subscriptions are now. After it, scheduled
boxes of the month without a shipment are the ones granted since (or left out for want of an
address): the next run adds them. Shipments of held boxes (their subscription ended early) are
not on the packing list until an admin decides to send them.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from shop.accounts.models import Customer
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    Shipment,
    ShipmentStatus,
    Subscription,
)
from shop.catalog.models import Box, Plan


def month_shipments(
    month: str, *, box_id: int | None = None, status: ShipmentStatus | None = None
) -> Select[tuple[Shipment]]:
    """The month's shipments, grouped by box (in catalogue order), then in run order."""
    query = (
        select(Shipment)
        .join(Box, Box.id == Shipment.box_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.ship_month == month, CalendarBox.status == BoxStatus.SCHEDULED)
        .options(
            joinedload(Shipment.customer),
            joinedload(Shipment.box),
            joinedload(Shipment.plan),
            joinedload(Shipment.calendar_box),
        )
        .order_by(Box.position, Box.name, Shipment.id)
    )
    if box_id is not None:
        query = query.where(Shipment.box_id == box_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return query


def month_shipment_counts(month: str) -> Select[tuple[int, str, ShipmentStatus, int]]:
    """(box id, box name, shipment status, count) for the month: what to buy, pack and send."""
    return (
        select(Box.id, Box.name, Shipment.status, func.count(Shipment.id))
        .join(Box, Box.id == Shipment.box_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.ship_month == month, CalendarBox.status == BoxStatus.SCHEDULED)
        .group_by(Box.id, Box.name, Box.position, Shipment.status)
        .order_by(Box.position, Box.name)
    )


def month_has_run(month: str) -> Select[tuple[bool]]:
    """Whether the month's shipping run has happened (it has at least one shipment)."""
    return select(select(Shipment.id).where(Shipment.ship_month == month).exists())


def boxes_not_in_run(month: str, *, box_id: int | None = None) -> Select[tuple[CalendarBox]]:
    """The month's scheduled boxes that have no shipment yet, with what addressing them needs.

    Before the run this is the month's forecast; after it, the boxes a rerun would add.
    """
    query = (
        select(CalendarBox)
        .join(Box, Box.id == CalendarBox.box_id)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.ship_month == month,
            CalendarBox.status == BoxStatus.SCHEDULED,
            Shipment.id.is_(None),
        )
        .options(
            joinedload(CalendarBox.subscription).joinedload(Subscription.customer),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(Box.position, Box.name, CalendarBox.id)
    )
    if box_id is not None:
        query = query.where(CalendarBox.box_id == box_id)
    return query


def boxes_not_in_run_counts(month: str) -> Select[tuple[int, str, int]]:
    """(box id, box name, count) of the month's scheduled boxes that have no shipment yet."""
    return (
        select(Box.id, Box.name, func.count(CalendarBox.id))
        .join(Box, Box.id == CalendarBox.box_id)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.ship_month == month,
            CalendarBox.status == BoxStatus.SCHEDULED,
            Shipment.id.is_(None),
        )
        .group_by(Box.id, Box.name, Box.position)
        .order_by(Box.position, Box.name)
    )


def held_boxes() -> Select[tuple[CalendarBox]]:
    """Every box held for an admin's decision, whatever its month, oldest month first."""
    return (
        select(CalendarBox)
        .where(CalendarBox.status == BoxStatus.HELD)
        .options(
            joinedload(CalendarBox.subscription),
            joinedload(CalendarBox.customer),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(CalendarBox.ship_month, CalendarBox.id)
    )


def skipping_subscriptions() -> Select[tuple[Subscription]]:
    """Subscriptions skipping their next box (no charge, no box), next payment date first."""
    return (
        select(Subscription)
        .where(Subscription.pause_behavior.is_not(None))
        .options(
            joinedload(Subscription.customer), joinedload(Subscription.plan).joinedload(Plan.box)
        )
        .order_by(Subscription.current_period_end, Subscription.id)
    )


def boxes_for_filter() -> Select[tuple[Box]]:
    """Every box, in catalogue order (retired boxes still have shipments to filter by)."""
    return select(Box).order_by(Box.position, Box.name)


def to_pack_count() -> Select[tuple[int]]:
    """Shipments waiting to be packed, whatever their month (a late one still needs packing)."""
    return (
        select(func.count(Shipment.id))
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.status == ShipmentStatus.TO_PACK, CalendarBox.status == BoxStatus.SCHEDULED)
    )


def overdue_months(before: str) -> Select[tuple[str, int]]:
    """(month, count) of scheduled boxes of months before `before` that were never put in a
    run: a late payment or a repair granted them after their month's run."""
    return (
        select(CalendarBox.ship_month, func.count(CalendarBox.id))
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(
            CalendarBox.ship_month < before,
            CalendarBox.status == BoxStatus.SCHEDULED,
            Shipment.id.is_(None),
        )
        .group_by(CalendarBox.ship_month)
        .order_by(CalendarBox.ship_month)
    )


def packing_rows(
    month: str,
    *,
    after_id: int = 0,
    limit: int = 1000,
    box_id: int | None = None,
    status: ShipmentStatus | None = None,
) -> Select[tuple[object, ...]]:
    """One batch of the month's shipments as plain labelled columns, in id order after
    `after_id`: a big month is read batch by batch (keyset), never all at once."""
    query = (
        select(
            Shipment.id,
            Shipment.ship_month,
            Shipment.status,
            Box.name.label("box_name"),
            Plan.term_months.label("plan_months"),
            CalendarBox.sequence,
            CalendarBox.term_months,
            Shipment.ship_to_name,
            Shipment.ship_to_line1,
            Shipment.ship_to_line2,
            Shipment.ship_to_city,
            Shipment.ship_to_state,
            Shipment.ship_to_postal_code,
            Shipment.ship_to_country,
            Customer.email,
            Shipment.carrier,
            Shipment.tracking_number,
            Shipment.address_changed_at,
        )
        .join(Box, Box.id == Shipment.box_id)
        .join(Plan, Plan.id == Shipment.plan_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .join(Customer, Customer.id == Shipment.customer_id)
        .where(
            Shipment.ship_month == month,
            Shipment.id > after_id,
            CalendarBox.status == BoxStatus.SCHEDULED,
        )
        .order_by(Shipment.id)
        .limit(limit)
    )
    if box_id is not None:
        query = query.where(Shipment.box_id == box_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return query
