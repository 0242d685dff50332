"""Read-only selects for the catalogue."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload, with_loader_criteria

from shop.catalog.models import Box, Plan


def active_boxes() -> Select[tuple[Box]]:
    """Active boxes in display order."""
    return select(Box).where(Box.is_active.is_(True)).order_by(Box.position, Box.name)


def active_boxes_with_plans() -> Select[tuple[Box]]:
    """Active boxes in display order, each with its active plans (shortest term first)."""
    return active_boxes().options(
        selectinload(Box.plans), with_loader_criteria(Plan, Plan.is_active.is_(True))
    )


def active_box(slug: str) -> Select[tuple[Box]]:
    """The active box with this slug, with its active plans (shortest term first)."""
    return (
        select(Box)
        .where(Box.slug == slug, Box.is_active.is_(True))
        .options(
            selectinload(Box.plans),
            with_loader_criteria(Plan, Plan.is_active.is_(True)),
        )
    )


def purchasable_plan(plan_id: int) -> Select[tuple[Plan]]:
    """An active plan of an active box that Stripe knows a price for."""
    return (
        select(Plan)
        .join(Plan.box)
        .where(
            Plan.id == plan_id,
            Plan.is_active.is_(True),
            Box.is_active.is_(True),
            Plan.stripe_price_id.is_not(None),
        )
    )


def plan_by_stripe_price(price_id: str) -> Select[tuple[Plan]]:
    return select(Plan).where(Plan.stripe_price_id == price_id)


def plan_by_lookup_key(lookup_key: str) -> Select[tuple[Plan]]:
    return select(Plan).where(Plan.lookup_key == lookup_key)
