"""Read-only selects for the catalogue."""

from __future__ import annotations

from sqlalchemy import Select, select

from shop.catalog.models import Box


def active_boxes() -> Select[tuple[Box]]:
    """Active boxes in display order."""
    return select(Box).where(Box.is_active.is_(True)).order_by(Box.position, Box.name)


def active_box(slug: str) -> Select[tuple[Box]]:
    """The active box with this slug."""
    return select(Box).where(Box.slug == slug, Box.is_active.is_(True))
