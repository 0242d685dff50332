"""Reading numbers from requests without trusting their size."""

from __future__ import annotations

import re

from flask import abort, request

MAX_ID = 2**31 - 1  # PostgreSQL's integer; larger "ids" cannot name anything
MAX_PAGE = 100_000
_DIGITS = re.compile(r"[0-9]{1,10}")


def as_id(value: object) -> int | None:
    """A database id from untrusted text (ASCII digits, in range), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def page_number() -> int:
    """?page=N as a page number (1 when absent); anything else is a page that isn't there."""
    raw = request.args.get("page")
    if raw is None:
        return 1
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)
