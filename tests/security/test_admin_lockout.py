"""Repeated failed admin sign-ins lock the account (from any address) for a while; the lock
always ends, a success forgets the failures, and unknown emails behave exactly the same."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

import shop.accounts.services
from shop.accounts.lockout import MAX_LOCK_GROWTH, lock_minutes, locked_message, minutes_left
from shop.accounts.models import AdminSignInFailures
from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import make_admin
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.helpers import csrf_token, text_of

WRONG = "not the password at all"
FAILED = "That email and password don't match an admin account."
LOCKED_15 = "Too many failed sign-ins for this account. Try again in 15 minutes."
UNKNOWN_EMAIL = "nobody@musclebox.test"


@pytest.fixture(autouse=True)
def admin(app: Flask) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Move the services' clock on: `clock(minutes=16)`."""
    start = utcnow()

    def move(**delta: float) -> datetime:
        at = start + timedelta(**delta)
        monkeypatch.setattr(shop.accounts.services, "utcnow", lambda: at)
        return at

    move()  # the clock stands still until moved
    return move


_addresses = itertools.cycle(range(1, 255))
_ERROR = re.compile(r'id="login-error">([^<]*)<')


def attempt(app: Flask, email: str, password: str) -> tuple[int, str]:
    """One sign-in from a new browser at a new address: (status, the page's error message)."""
    client: FlaskClient = app.test_client()
    response = client.post(
        "/admin/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(client, "/admin/login"),
        },
        environ_base={"REMOTE_ADDR": f"198.51.100.{next(_addresses)}"},
    )
    if response.status_code == 303:
        return 303, "signed in"
    error = _ERROR.search(text_of(response))
    return response.status_code, error.group(1) if error else "(no message)"


def fail(app: Flask, times: int, email: str = ADMIN_EMAIL) -> list[tuple[int, str]]:
    return [attempt(app, email, WRONG) for _ in range(times)]


def test_five_failures_from_five_addresses_lock_the_account(app):
    results = fail(app, 5)
    assert results[:4] == [(200, FAILED)] * 4
    assert results[4] == (429, LOCKED_15)
    # While locked even the right password is refused, and says so.
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (429, LOCKED_15)


def test_the_lock_ends_and_the_right_password_then_works(app, clock):
    fail(app, 5)
    clock(minutes=14)
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (429, locked_message(1))
    clock(minutes=15, seconds=1)
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (303, "signed in")


def test_a_success_forgets_the_failures(app):
    fail(app, 4)
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (303, "signed in")
    assert fail(app, 4) == [(200, FAILED)] * 4, "the count started again"
    assert db.session.scalar(db.select(AdminSignInFailures.failure_count)) == 4


def test_each_further_lock_lasts_longer_up_to_a_limit(app, clock):
    fail(app, 5)
    clock(minutes=16)
    assert fail(app, 5)[-1] == (429, locked_message(30))
    clock(minutes=16 + 31)
    assert fail(app, 5)[-1] == (429, locked_message(60))


def test_a_day_without_failures_starts_afresh(app, clock):
    fail(app, 5)
    clock(days=1, minutes=1)
    assert fail(app, 5)[-1] == (429, LOCKED_15), "not 30 minutes: yesterday is forgotten"


def test_unknown_emails_are_locked_just_the_same(app):
    known = fail(app, 6, ADMIN_EMAIL)
    unknown = fail(app, 6, UNKNOWN_EMAIL)
    assert known == unknown
    assert unknown[-1] == (429, LOCKED_15)


def test_one_locked_account_does_not_lock_another(app):
    fail(app, 5, UNKNOWN_EMAIL)
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (303, "signed in")


def test_the_email_is_matched_whatever_its_case(app):
    fail(app, 3, ADMIN_EMAIL)
    fail(app, 2, f"  {ADMIN_EMAIL.upper()}")
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (429, LOCKED_15)


def test_only_a_hash_of_the_email_is_kept(app):
    fail(app, 2, UNKNOWN_EMAIL)
    (row,) = db.session.scalars(db.select(AdminSignInFailures)).all()
    assert UNKNOWN_EMAIL not in row.email_hash and len(row.email_hash) == 64


def test_a_new_password_from_the_command_line_lifts_the_lock(app, runner):
    fail(app, 5)
    result = runner.invoke(
        args=["create-admin", ADMIN_EMAIL, "--password-stdin"], input="a brand new password\n"
    )
    assert result.exit_code == 0, result.output
    assert attempt(app, ADMIN_EMAIL, "a brand new password") == (303, "signed in")


@pytest.mark.parametrize(
    "app_settings", [{"ADMIN_LOCKOUT_FAILURES": 3, "ADMIN_LOCKOUT_MINUTES": 5}]
)
def test_the_threshold_and_the_lock_are_settings(app):
    assert fail(app, 3)[-1] == (429, locked_message(5))


@pytest.mark.parametrize("app_settings", [{"ADMIN_LOGIN_RATE_LIMIT": "2 per minute"}])
def test_the_per_address_rate_limit_still_applies(app):
    client = app.test_client()
    statuses = []
    for _ in range(3):
        response = client.post(
            "/admin/login",
            data={
                "email": ADMIN_EMAIL,
                "password": WRONG,
                "csrf_token": csrf_token(client, "/admin/login"),
            },
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]


def test_lock_lengths_double_and_stop_growing():
    assert [lock_minutes(n, 15) for n in range(1, 7)] == [15, 30, 60, 120, 120, 120]
    assert lock_minutes(50, 15) == 15 * MAX_LOCK_GROWTH


def test_minutes_left_rounds_up_and_is_never_zero():
    now = utcnow()
    assert minutes_left(now + timedelta(minutes=14, seconds=1), now) == 15
    assert minutes_left(now + timedelta(seconds=1), now) == 1
    assert locked_message(1).endswith("Try again in 1 minute.")


def test_on_a_browser_the_admin_signed_in_on_before_a_lock_by_others_does_not_apply(app):
    """Someone guessing from elsewhere can lock the account, but not its owner's own browser."""
    own_browser: FlaskClient = app.test_client()

    def sign_in(password: str) -> int:
        return own_browser.post(
            "/admin/login",
            data={
                "email": ADMIN_EMAIL,
                "password": password,
                "csrf_token": csrf_token(own_browser, "/admin/login"),
            },
        ).status_code

    assert sign_in(ADMIN_PASSWORD) == 303  # the browser becomes known
    own_browser.post("/admin/logout", data={"csrf_token": csrf_token(own_browser, "/admin/")})
    assert fail(app, 5)[-1] == (429, LOCKED_15)  # locked by guesses from elsewhere
    assert attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD) == (429, LOCKED_15)  # a new browser: locked

    assert sign_in(WRONG) == 200  # the owner's typo: a plain failure, still counted
    assert sign_in(ADMIN_PASSWORD) == 303  # and the right password works there


def test_a_device_cookie_for_another_email_or_forged_does_not_pass_the_lock(app):
    from shop.accounts.services import device_token, is_known_device

    with app.test_request_context():
        other = device_token("someone.else@example.com")
        assert is_known_device(device_token(ADMIN_EMAIL), ADMIN_EMAIL)
        assert not is_known_device(other, ADMIN_EMAIL)
        assert not is_known_device(other[:-2] + "xx", "someone.else@example.com")
        assert not is_known_device(None, ADMIN_EMAIL)
