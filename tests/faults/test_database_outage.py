"""The database goes away: every page says 503 "try again" with Retry-After, one log line each,
and the site recovers by itself when the database returns."""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shop import create_app
from shop.db import is_database_unavailable
from shop.extensions import db
from tests.builders.content import make_article, make_box
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.faults.proxy import FaultProxy
from tests.faults.servers import (
    TEST_SECRET_KEY,
    TEST_WEBHOOK_SECRET,
    ShopServer,
    prepare_database,
    shop_env,
)
from tests.faults.webhooks import signed_delivery, stripe_event
from tests.helpers import text_of
from tests.local_servers import free_port

psycopg = pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
postgres_only = pytest.mark.skipif(
    not IS_POSTGRES, reason="needs PostgreSQL behind a proxy (TEST_DATABASE_URL=postgresql...)"
)

# The suite's PostgreSQL database (e.g. test_faults), reached directly and through a proxy.
DATABASE = make_url(TEST_DATABASE_URL)


def through(proxy: FaultProxy) -> str:
    """The suite's database URL, via `proxy`."""
    return DATABASE.set(host=proxy.host, port=proxy.port).render_as_string(hide_password=False)


def database_proxy() -> FaultProxy:
    return FaultProxy(DATABASE.host or "127.0.0.1", DATABASE.port or 5432)


PAGES = ("/", "/blog/lift-well", "/boxes/musclebox", "/healthz")
OUTAGE_TEXT = "We're having a short technical problem"


def app_on(database_url: str, **settings: Any) -> Flask:
    return create_app(
        {
            "SHOP_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SITE_URL": "http://shop.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            "STRIPE_WEBHOOK_SECRET": (TEST_WEBHOOK_SECRET,),
            **settings,
        }
    )


def outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("database unavailable:")]


def post_webhook(client, event_id: str):  # type: ignore[no-untyped-def]
    body, headers = signed_delivery(stripe_event(event_id))
    return client.post("/webhooks/stripe", data=body, headers=headers)


# -- which errors are an outage ------------------------------------------------------------------


def wrapped(orig: BaseException, **options: Any) -> DBAPIError:
    return OperationalError("SELECT 1", {}, orig, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (wrapped(psycopg.OperationalError("connection failed: Connection refused")), True),
        (wrapped(psycopg.OperationalError("consuming input failed: EOF")), True),
        (wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (wrapped(psycopg.errors.TooManyConnections("too many clients")), True),
        (wrapped(psycopg.errors.ConnectionFailure("08006")), True),
        (wrapped(RuntimeError("gone"), connection_invalidated=True), True),
        (PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"), True),
        (psycopg.OperationalError("connection timeout expired"), True),
        (wrapped(psycopg.errors.LockNotAvailable("lock timeout")), False),
        (wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), False),
        (wrapped(psycopg.errors.SerializationFailure("could not serialize")), False),
        (wrapped(psycopg.errors.QueryCanceled("statement timeout")), False),
        (wrapped(sqlite3.OperationalError("database is locked")), False),
        (RuntimeError("a bug"), False),
    ],
    ids=lambda value: (
        type(getattr(value, "orig", None) or value).__name__
        if isinstance(value, BaseException)
        else str(value)
    ),
)
def test_only_an_unreachable_database_counts_as_an_outage(error, outage):
    assert is_database_unavailable(error) is outage


def test_an_outage_raised_from_another_error_still_counts():
    try:
        try:
            raise wrapped(psycopg.OperationalError("server closed the connection"))
        except OperationalError as exc:
            raise RuntimeError("while recording the event") from exc
    except RuntimeError as outer:
        assert is_database_unavailable(outer)


# -- in process: a PostgreSQL address where nothing listens (runs on SQLite suites too) ----------


@pytest.fixture
def unreachable_app() -> Iterator[Flask]:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    app = app_on(url)
    with app.app_context():
        yield app
        db.engine.dispose()


def test_every_page_answers_503_with_retry_after_and_one_log_line(unreachable_app, caplog):
    client = unreachable_app.test_client()
    caplog.set_level(logging.INFO)
    for path in PAGES[:3]:
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        page = text_of(response)
        assert OUTAGE_TEXT in page
        assert 'class="site-header"' in page and 'class="site-footer"' in page

    health = client.get("/healthz")
    assert health.status_code == 503 and health.headers["Retry-After"] == "30"
    assert health.get_json() == {"status": "error", "database": "unavailable"}

    webhook = post_webhook(client, "evt_outage_1")
    assert webhook.status_code == 503, "Stripe retries a delivery that was not acknowledged"
    assert webhook.headers["Retry-After"] == "30"
    assert webhook.get_json()["error"]["status"] == 503

    records = outage_records(caplog)
    assert len(records) == 5
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert "on GET /blog/lift-well" in records[1].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_503_page_renders_without_the_database_for_a_signed_in_admin(unreachable_app, caplog):
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "admin:1:0"  # Flask-Login would load this admin from the database
        session["_fresh"] = True
    caplog.set_level(logging.INFO)
    response = client.get("/admin/")
    assert response.status_code == 503
    page = text_of(response)
    assert OUTAGE_TEXT in page and 'class="site-header"' in page, "the site's page, not a fallback"
    assert len(outage_records(caplog)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_sign_in_link_token_never_reaches_the_outage_log(unreachable_app, caplog):
    client = unreachable_app.test_client()
    caplog.set_level(logging.INFO)
    response = client.get("/account/login/secret-token-abc123")
    assert response.status_code == 503
    assert "secret-token-abc123" not in caplog.text


# -- in process, PostgreSQL through a proxy: the pool recovers without a restart ---------------


@pytest.fixture
def proxied_app() -> Iterator[tuple[Flask, FaultProxy]]:
    direct = app_on(TEST_DATABASE_URL)
    with direct.app_context():
        db.drop_all()
        db.create_all()
        make_box("musclebox")
        make_article("lift-well")
        db.engine.dispose()
    with database_proxy() as proxy:
        app = app_on(through(proxy))
        with app.app_context():
            yield app, proxy
            db.session.remove()
            db.engine.dispose()


@postgres_only
def test_in_process_outage_and_recovery_through_the_same_pool(proxied_app, caplog):
    app, proxy = proxied_app
    client = app.test_client()
    assert [client.get(path).status_code for path in PAGES] == [200] * 4
    caplog.set_level(logging.INFO)

    proxy.cut()
    assert [client.get(path).status_code for path in PAGES] == [503] * 4
    assert len(outage_records(caplog)) == 4

    proxy.passthrough()
    assert [client.get(path).status_code for path in PAGES] == [200] * 4
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@postgres_only
def test_a_lock_timeout_is_not_an_outage(caplog):
    direct = app_on(TEST_DATABASE_URL)
    with direct.app_context():
        db.drop_all()
        db.create_all()
        make_box("musclebox")
        db.engine.dispose()
    app = app_on(
        TEST_DATABASE_URL,
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"options": "-c lock_timeout=200"},
        },
    )
    with app.app_context():
        holder = db.engine.connect()
        try:
            holder.execute(text("LOCK TABLE boxes IN ACCESS EXCLUSIVE MODE"))
            caplog.set_level(logging.INFO)
            response = app.test_client().get("/boxes/")
            assert response.status_code == 500, "contention is a bug to look at, not an outage"
            assert "Retry-After" not in response.headers
            assert outage_records(caplog) == []
            assert any(r.exc_info for r in caplog.records if r.levelno == logging.ERROR)
        finally:
            holder.rollback()
            holder.close()
            db.session.remove()
            db.engine.dispose()


# -- under gunicorn: two workers, PostgreSQL cut and restored -----------------------------------


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@postgres_only
def test_gunicorn_answers_503_while_postgres_is_cut_and_recovers_without_restart(show, tmp_path):
    prepare_database(TEST_DATABASE_URL)
    seed = app_on(TEST_DATABASE_URL)
    with seed.app_context():
        make_box("musclebox")
        make_article("lift-well")
        db.engine.dispose()

    with database_proxy() as proxy:
        env = shop_env(
            through(proxy),
            DATABASE_CONNECT_TIMEOUT="2",
            JOB_QUEUE_URL=f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        )
        with ShopServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
            assert [fetch(server.url(path))[0] for path in PAGES] == [200] * 4
            workers = server.worker_pids()
            log_before = server.log_text()

            proxy.cut()
            answers = []
            for round_ in range(3):
                answers += [fetch(server.url(path)) for path in PAGES]
                body, headers = signed_delivery(stripe_event(f"evt_cut_{round_}"))
                answers.append(fetch(server.url("/webhooks/stripe"), data=body, headers=headers))
            statuses = [status for status, _, _ in answers]
            with_retry_after = sum(1 for _, h, _ in answers if h.get("Retry-After") == "30")
            assert statuses == [503] * len(answers)
            assert with_retry_after == len(answers)
            assert all(OUTAGE_TEXT in html.unescape(body) for _, _, body in answers[:3])

            outage_log = server.log_text()[len(log_before) :]
            lines = re.findall(r"^.*database unavailable:.*$", outage_log, re.M)
            tracebacks = outage_log.count("Traceback")

            proxy.passthrough()
            recovered = [fetch(server.url(path))[0] for path in PAGES]
            same_workers = server.worker_pids() == workers

    show(
        f"\ndatabase cut for {len(answers)} requests: {statuses.count(503)}x503 with "
        f"{with_retry_after} Retry-After, {len(lines)} log lines, {tracebacks} tracebacks; "
        f"after restoring: {recovered}, same {len(workers)} worker pids: {same_workers}"
    )
    assert len(lines) == len(answers), "\n".join(lines)
    assert tracebacks == 0, outage_log
    assert recovered == [200] * 4
    assert same_workers, "recovered without a restart"
