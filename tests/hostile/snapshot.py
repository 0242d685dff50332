"""Reading what a request left behind: row counts of every table, and whether a 4xx explains."""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.extensions import db

_STAMP = re.compile(r'name="rendered_at"[^>]*value="([^"]+)"')
# How the site says what was wrong: a form error next to a field, a message above the form,
# the error page, or JSON for the webhook.
_EXPLAINED = re.compile(
    r'class="field-error"|class="form-message"|<p class="eyebrow">Error \d{3}</p>'
    r"|This sign-in link has expired"
)


def row_counts() -> dict[str, int]:
    """Rows in every table the models declare."""
    db.session.rollback()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def comment_stamp(client: FlaskClient, slug: str) -> str:
    page = client.get(f"/blog/{slug}").get_data(as_text=True)
    match = _STAMP.search(page)
    assert match, "the article page has no comment form"
    return html.unescape(match.group(1))


def explains(response: Any) -> bool:
    """Whether a refusal tells the visitor (or Stripe) what was wrong."""
    if response.is_json:
        body = response.get_json(silent=True)
        return isinstance(body, dict) and bool(body.get("error"))
    return bool(_EXPLAINED.search(response.get_data(as_text=True)))


def summary(total: int, outcomes: Counter[str], server_errors: int, unchanged: bool) -> str:
    parts = ", ".join(f"{count}×{outcome}" for outcome, count in sorted(outcomes.items()))
    database = "database unchanged" if unchanged else "DATABASE CHANGED"
    return f"{total} hostile requests: {parts}; {server_errors}×5xx; {database}"
