"""Read-only selects for billing: shipments to pack, a customer's subscriptions."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from shop.billing.models import Shipment, ShipmentStatus
from shop.catalog.models import Plan


def shipments_with_status(status: ShipmentStatus) -> Select[tuple[Shipment]]:
    """Shipments in one state, oldest first (the order they should be packed in)."""
    return (
        select(Shipment)
        .where(Shipment.status == status)
        .options(joinedload(Shipment.customer), joinedload(Shipment.plan).joinedload(Plan.box))
        .order_by(Shipment.created_at, Shipment.id)
    )


def shipment_counts() -> Select[tuple[ShipmentStatus, int]]:
    return select(Shipment.status, func.count(Shipment.id)).group_by(Shipment.status)
