"""Fixtures: an app with a fresh schema per test, clients, the CLI runner, a signed-in admin.

The database comes from TEST_DATABASE_URL (default: SQLite in memory), so the same suite runs on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from shop import create_app
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.builders.content import make_admin
from tests.helpers import csrf_token

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")

ADMIN_EMAIL = "coach@musclebox.test"
ADMIN_PASSWORD = "correct horse battery staple"

TEST_SETTINGS = {
    "SHOP_ENV": "testing",
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-the-shop",
    "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
    "SITE_URL": "http://shop.test",
    "SERVER_NAME": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    # The shared page cache, in this process: every test sees pages as production serves them.
    "PAGE_CACHE_URL": "memory://",
    # Jobs run in-process the moment they are queued; retries wait for run_delayed_jobs().
    "JOB_QUEUE_URL": "immediate://",
    # Individual tests switch these rules back on to test them.
    "COMMENT_MIN_SECONDS": 0,
    "COMMENT_FLOOD_SECONDS": 0,
    "COMMENT_RATE_LIMIT": "1000 per minute",
    "ADMIN_LOGIN_RATE_LIMIT": "1000 per minute",
}


class ShopTestClient(FlaskClient):
    """Runs every request in its own app context — its own `g` and database session — as a
    real server does, so two clients in one test never share a CSRF token or a signed-in user.
    Afterwards the response is closed and the test's own session expired, so the test reads
    what the request (and the jobs it queued, which tests run at once) wrote."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        response = contextvars.Context().run(super().open, *args, **kwargs)
        # A WSGI server closes each response once it is sent (a streamed body, such as the
        # shipments CSV, finishes then), before the test looks.
        contextvars.Context().run(response.close)
        if has_app_context():
            db.session.expire_all()
        return response


class ShopCliRunner(FlaskCliRunner):
    def invoke(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        result = contextvars.Context().run(super().invoke, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return result


def build_app(**overrides: object) -> Flask:
    app = create_app({**TEST_SETTINGS, **overrides})
    app.test_client_class = ShopTestClient
    app.test_cli_runner_class = ShopCliRunner
    return app


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Override settings for one test: `@pytest.mark.parametrize` or a fixture override."""
    return {}


@pytest.fixture
def app(app_settings: dict[str, object]) -> Iterator[Flask]:
    app = build_app(**app_settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    """A client signed in as an admin through the real login form."""
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    response = client.post(
        "/admin/login",
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(client, "/admin/login"),
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return client


@pytest.fixture(scope="session")
def stripe_emulator_server() -> Iterator[RunningEmulator]:
    """One Stripe emulator on a free 127.0.0.1 port for the whole run."""
    with RunningEmulator(api_key="sk_test_shop_suite") as running:
        yield running


@pytest.fixture
def stripe_emulator(stripe_emulator_server: RunningEmulator) -> RunningEmulator:
    """The emulator, emptied for this test (objects, events, clock)."""
    stripe_emulator_server.emulator.reset()
    return stripe_emulator_server


@pytest.fixture
def show(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`print` past pytest's capture: a test's figures (what it injected, what it measured)
    appear in every run's output, CI's log too, not only when it fails."""

    def write(*parts: object, **options: Any) -> None:
        with capsys.disabled():
            print(*parts, **options)

    return write
