"""The admin sign-in lockout, as pure functions over plain values.

Per-IP rate limits stop one address guessing fast; they do nothing against many addresses
guessing one account. So failures are also counted per account (per email, known or not, so a
lock never tells who is an admin): after ADMIN_LOCKOUT_FAILURES failures in a row the account is
locked for ADMIN_LOCKOUT_MINUTES, and each further lock lasts twice as long as the one before, up
to MAX_LOCK_GROWTH times the first. Locks always end (the right password is never shut out for
good), a successful sign-in forgets every failure, and a day without failures starts afresh.

Someone guessing a few times every two hours could keep the account locked for ever; so a lock
does not apply on a browser the admin signed in on before (a signed cookie, ADMIN_DEVICE_DAYS),
and there the right password still works.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

# Eight times the first lock (two hours by default): five guesses per two hours makes guessing
# hopeless; the admin's own browsers are not locked at all (see the module docstring).
MAX_LOCK_GROWTH = 8
# Failures older than this are forgotten: a typo last week does not make today's lock longer.
FORGET_AFTER = timedelta(days=1)


def lock_minutes(lock_number: int, base_minutes: int) -> int:
    """How long the `lock_number`-th lock in a row lasts (1 → base, 2 → twice, ... capped)."""
    return base_minutes * min(2 ** max(lock_number - 1, 0), MAX_LOCK_GROWTH)


def is_forgotten(last_failed_at: datetime, now: datetime) -> bool:
    """Whether failures last seen at `last_failed_at` no longer count at `now`."""
    return now - last_failed_at >= FORGET_AFTER


def minutes_left(locked_until: datetime, now: datetime) -> int:
    """Whole minutes until the lock ends, rounded up (never 0 while it lasts)."""
    return max(1, math.ceil((locked_until - now).total_seconds() / 60))


def locked_message(minutes: int) -> str:
    """What the sign-in page says, the same whether or not the account exists."""
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins for this account. Try again in {minutes} {unit}."
