"""Which views take files, and in which fields: every other form refuses a file whole.

A view that takes a file is marked with `@accepts_files("field", ...)`; the site's guard
(`shop.site.views.refuse_file_uploads`) lets through files in those fields only. What a file
must be is the view's to check, by its content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request

View = TypeVar("View", bound=Callable[..., object])


def accepts_files(*fields: str) -> Callable[[View], View]:
    """Mark a view as taking files in `fields` (and nowhere else)."""

    def mark(view: View) -> View:
        view.accepts_files = frozenset(fields)  # type: ignore[attr-defined]
        return view

    return mark


def files_allowed() -> bool:
    """Whether every file of this request is in a field its view takes files in."""
    view = current_app.view_functions.get(request.endpoint or "")
    allowed: frozenset[str] = getattr(view, "accepts_files", frozenset())
    return set(request.files) <= allowed
