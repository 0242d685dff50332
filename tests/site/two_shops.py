"""Two shop instances on one PostgreSQL and one Redis, as N servers behind a load balancer run.

    with TwoShops(tmp_path) as shops:
        shops.a.url("/account/login"), shops.b.url("/account/login")   # two gunicorn servers
        with shops.db():                                               # the shared database
            ...

Entering makes this run's own database (``<TEST_DATABASE_URL's name>_servers`` on the same
PostgreSQL, emptied and migrated once with ``flask --app shop db upgrade``), empties the Redis
databases below (refusing, with RedisInUse, when anyone else is connected to them), starts the
Stripe emulator and a capturing SMTP server, seeds the demo catalogue and syncs it to the emulator.
Then it starts shop A and shop B, each ``gunicorn 'shop:create_app()'`` with the repo's
gunicorn.conf.py (one worker) on its own free loopback port, and each its own job worker
(``flask --app shop worker``). Both get exactly the same settings: production's shape (PostgreSQL,
rate limits, jobs and the page cache on Redis, one SECRET_KEY, real SMTP) with
SHOP_ENV=development, because production refuses STRIPE_API_BASE and the emulator needs it.

Redis: the job queue on db 9 (one queue both workers take from), the page cache on db 10, the
rate limits on db 11. Db 8 is left alone: the webhook storm keeps its rate limits there.

Every wait is bounded; leaving stops every process (SIGTERM, then SIGKILL), and a test process
killed outright takes its servers and workers with it (they die with their parent).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shop.billing.gateway import gateway
from shop.catalog.models import Plan
from shop.catalog.services import sync_catalogue
from shop.demo import seed_demo
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.conftest import TEST_DATABASE_URL
from tests.faults.servers import BackgroundProcess, prepare_database, shop_env
from tests.faults.smtp import SmtpServer
from tests.faults.storm import StormShopServer, flush_redis, job_worker, local_app

JOB_QUEUE_URL = "redis://127.0.0.1:6379/9"
PAGE_CACHE_URL = "redis://127.0.0.1:6379/10"
RATE_LIMITS_URL = "redis://127.0.0.1:6379/11"
# Low enough for a test to reach it in a few requests; the other limits keep their defaults.
CUSTOMER_LOGIN_RATE_LIMIT = "3 per minute"
# The comment form's time trap, shortened so a test waits one second, not three.
COMMENT_MIN_SECONDS = 1
START_SECONDS = 30  # each gunicorn's /healthz, each worker's first log line


def own_database(test_database_url: str = TEST_DATABASE_URL) -> str:
    """The URL of ``<name>_servers`` on TEST_DATABASE_URL's server, created if it is missing.

    A database of its own, so the rest of the suite's schema (made and dropped per test on
    TEST_DATABASE_URL itself) never meets these servers' rows.
    """
    server = sa.engine.make_url(test_database_url)
    name = f"{server.database}_servers"
    engine = sa.create_engine(
        server.set(database="postgres"), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


class TwoShops:
    """See the module docstring: `a`, `b` (ShopServer), `app` (in-process, same database),
    `emulator`, `smtp`, `env` (both instances' environment), `plan_ids`, `db()`, `logs()`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._stack = contextlib.ExitStack()
        self.database_url = ""
        self.env: dict[str, str] = {}
        self.plan_ids: dict[str, int] = {}  # lookup key (musclebox-3m) -> plan id
        self.app: Flask
        self.emulator: RunningEmulator
        self.smtp: SmtpServer
        self.a: StormShopServer
        self.b: StormShopServer
        self.workers: dict[str, BackgroundProcess] = {}

    def __enter__(self) -> TwoShops:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def _start(self) -> None:
        # Redis first: a database in use by another run is a reason to stop before touching
        # anything (its workers would take this run's jobs).
        for url in (JOB_QUEUE_URL, PAGE_CACHE_URL, RATE_LIMITS_URL):
            flush_redis(url)
        self.database_url = own_database()
        prepare_database(self.database_url)
        self.emulator = self._stack.enter_context(RunningEmulator(api_key="sk_test_two_shops"))
        self.smtp = self._stack.enter_context(SmtpServer())
        self.app = local_app(self.database_url, self.emulator)
        self._stack.callback(self._dispose)
        with self.app.app_context():
            seed_demo()
            sync_catalogue(gateway())
            self.plan_ids = {
                plan.lookup_key: plan.id for plan in db.session.scalars(sa.select(Plan))
            }
            db.session.remove()
        self.env = shop_env(
            self.database_url,
            STRIPE_SECRET_KEY=self.emulator.api_key,
            STRIPE_API_BASE=self.emulator.base_url,
            MAIL_URL=self.smtp.url,
            JOB_QUEUE_URL=JOB_QUEUE_URL,
            RATELIMIT_STORAGE_URI=RATE_LIMITS_URL,
            PAGE_CACHE_URL=PAGE_CACHE_URL,
            CUSTOMER_LOGIN_RATE_LIMIT=CUSTOMER_LOGIN_RATE_LIMIT,
            COMMENT_MIN_SECONDS=str(COMMENT_MIN_SECONDS),
            # A job retried after a lock wait converges in a second, not thirty.
            JOB_RETRY_SECONDS="1",
        )
        servers = {}
        for name in ("a", "b"):
            server = StormShopServer(
                self.env,
                workers=1,
                log_path=self.workdir / f"gunicorn-{name}.log",
                ready_timeout=START_SECONDS,
            )
            servers[name] = self._stack.enter_context(server)
            worker = job_worker(self.env, self.workdir / f"worker-{name}.log", threads=2)
            self.workers[name] = self._stack.enter_context(worker)
        self.a, self.b = servers["a"], servers["b"]
        for name, worker in self.workers.items():
            if not worker.wait_for_log("worker:", timeout=START_SECONDS):
                raise RuntimeError(f"job worker {name} did not start:\n{worker.log_text()}")

    def _dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    @contextlib.contextmanager
    def db(self) -> Iterator[Session]:
        """An app context on the shared database; what it reads is fresh each time."""
        with self.app.app_context():
            try:
                yield db.session  # type: ignore[misc]
            finally:
                db.session.remove()

    def stripe_events(self) -> list[tuple[str, str]]:
        """(event id, JSON body as Stripe posts it) of every event the emulator has made, oldest
        first. No webhook endpoint is registered, so none has been delivered."""
        em = self.emulator.emulator
        with em.lock:
            events = sorted(em.ordered("events"), key=lambda event: event["created"])
            return [(event["id"], json.dumps(em.render(event), indent=2)) for event in events]

    def logs(self, lines: int = 30) -> str:
        """The tail of each process's log, for a failing assertion's message."""
        parts = []
        for name, process in (
            ("gunicorn A", self.a),
            ("gunicorn B", self.b),
            *((f"worker {n.upper()}", w) for n, w in self.workers.items()),
        ):
            tail = "\n".join(process.log_text().splitlines()[-lines:])
            parts.append(f"--- {name} ---\n{tail}")
        return "\n".join(parts)


def wait_for(check: Any, *, timeout: float, every: float = 0.2) -> Any:
    """`check()` until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    return value
