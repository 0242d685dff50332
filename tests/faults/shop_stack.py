"""The whole shop on PostgreSQL for Stripe and mail fault tests: gunicorn, a job worker, the Stripe
emulator behind a `FaultProxy`, and a capturing `SmtpServer` — plus a browser and the database.

    with ShopStack(tmp_path) as stack:
        browser = stack.browser()
        checkout = browser.post("/checkout", browser.subscribe_form("musclebox", 1))
        session_id = stack.pay(checkout.headers["Location"], email="bea@example.com")
        stack.stripe_mode("hang")                 # the FaultProxy between the shop and Stripe
        stack.deliver_webhooks()                  # the emulator's pending events, into gunicorn
        stack.mail_mode("tempfail")               # the SmtpServer the worker sends to
        with stack.db():                          # an app context on the same database
            ...

The shop runs with short timeouts so a fault costs seconds (`SETTINGS`): pages wait for Stripe
`STRIPE_PAGE_TIMEOUT_SECONDS`, jobs `STRIPE_TIMEOUT_SECONDS` (with the gateway's two retries),
failed jobs retry after `JOB_RETRY_SECONDS` (doubling), mail waits `MAIL_TIMEOUT_SECONDS`. The
database (see `RunDatabase`) and the job queue in it (Huey on PostgreSQL) are this run's own, so
two runs at once never take each other's jobs or rows. Rate
limits are off: the tests press Subscribe more often than a person would. Every wait is bounded;
`close()` stops everything.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import huey
import requests
import sqlalchemy as sa
from flask import Flask

from shop import create_app
from shop.catalog.models import Plan
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.builders.billing import make_customer
from tests.conftest import TEST_DATABASE_URL
from tests.faults.proxy import POLL_SECONDS, FaultProxy
from tests.faults.servers import (
    FLASK,
    TEST_SECRET_KEY,
    TEST_WEBHOOK_SECRET,
    BackgroundProcess,
    ShopServer,
    prepare_database,
    shop_env,
)
from tests.faults.smtp import SmtpServer
from tests.stripe_emulator.conftest import GOOD_CARD, card_form

T = TypeVar("T")

SETTINGS = {
    "STRIPE_PAGE_TIMEOUT_SECONDS": "2",
    "STRIPE_TIMEOUT_SECONDS": "2",
    "JOB_RETRY_SECONDS": "1",
    "JOB_LOST_AFTER_SECONDS": "30",
    "LOCK_TIMEOUT_SECONDS": "3",
    "MAIL_TIMEOUT_SECONDS": "2",
    "MAIL_FROM": "MuscleBox <shop@musclebox.test>",
    "RATELIMIT_ENABLED": "false",
    "SIGN_IN_LINKS_PER_EMAIL": "50",
}
PAGE_TIMEOUT = float(SETTINGS["STRIPE_PAGE_TIMEOUT_SECONDS"])
UNAVAILABLE_TEXT = "We couldn't reach our payment provider"
ARTICLE_SLUG = "protein-timing-what-actually-matters"
SIGN_IN_EMAIL = "sam@example.com"


RUN_SLOTS = 8
LOCK_NAMESPACE = 0x57F4  # pg_try_advisory_lock(namespace, slot): this module's own locks


class RunDatabase:
    """A database this run has to itself: ``test_stripefaults_stack<N>`` on TEST_DATABASE_URL's
    server, the first of RUN_SLOTS whose advisory lock is free (held until `close()`, or until
    the process dies). Two runs at once (two sessions, a developer and CI) never share the shop's
    rows or jobs, and no database is dropped afterwards (DROP DATABASE waits for a checkpoint).
    """

    def __init__(self) -> None:
        server = sa.engine.make_url(TEST_DATABASE_URL)
        # Locks on the maintenance database: advisory locks belong to one database.
        self._engine = sa.create_engine(
            server.set(database="postgres"),
            poolclass=sa.pool.NullPool,
            isolation_level="AUTOCOMMIT",
        )
        self._holder = self._engine.connect()
        try:
            slot = next(
                (
                    n
                    for n in range(RUN_SLOTS)
                    if self._holder.scalar(
                        sa.text("SELECT pg_try_advisory_lock(:ns, :n)"),
                        {"ns": LOCK_NAMESPACE, "n": n},
                    )
                ),
                None,
            )
            if slot is None:
                raise RuntimeError(f"all {RUN_SLOTS} stripe-fault databases are in use")
            name = f"test_stripefaults_stack{slot}"
            exists = self._holder.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                self._holder.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except BaseException:
            self.close()
            raise
        self.url = server.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        self._holder.close()
        self._engine.dispose()


def wait_for_switch() -> None:
    """Let every FaultProxy connection thread see a new mode (each looks every POLL_SECONDS).

    A request arriving within that window races the switch: switching pass → http, a request
    already forwarded loses its answer (the client waits for its timeout); switching back, one
    read in the window gets the canned answer. Waiting a few polls keeps tests off that edge.
    """
    time.sleep(4 * POLL_SECONDS)


def poll(check: Callable[[], T], *, timeout: float, every: float = 0.2) -> T:
    """`check()` until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    return value


@dataclass(frozen=True)
class Answer:
    """One HTTP answer and how long it took."""

    status: int
    seconds: float
    headers: dict[str, str]
    text: str

    @property
    def ms(self) -> int:
        return round(self.seconds * 1000)


class Browser:
    """A visitor with cookies, talking to the shop under gunicorn (no redirects followed)."""

    def __init__(self, stack: ShopStack) -> None:
        self.stack = stack
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        started = time.monotonic()
        response = self.session.request(method, self.stack.server.url(path), **kwargs)
        seconds = time.monotonic() - started
        return Answer(response.status_code, seconds, dict(response.headers), response.text)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Answer:
        return self.request("POST", path, data=data)

    def subscribe_form(self, box_slug: str = "protein-musclebox", term_months: int = 3) -> dict:
        """The Subscribe button's fields, read from the box page (its CSRF token and nonce)."""
        page = self.get(f"/boxes/{box_slug}")
        assert page.status == 200, page.status
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        attempt = re.search(r'name="attempt" value="([^"]+)"', page.text)
        assert token and attempt, "no Subscribe button on the box page"
        return {
            "csrf_token": html.unescape(token.group(1)),
            "plan_id": str(self.stack.plan_id(box_slug, term_months)),
            "attempt": attempt.group(1),
        }

    def sign_in_form(self, email: str) -> dict:
        page = self.get("/account/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, "no CSRF token on the sign-in page"
        return {"csrf_token": html.unescape(token.group(1)), "email": email}


class ShopStack:
    """See the module docstring. Entering starts everything; leaving stops it all (bounded)."""

    def __init__(self, workdir: Path, *, worker_threads: int = 4) -> None:
        self.workdir = workdir
        self.worker_threads = worker_threads
        self.database_url = ""
        self._stack = contextlib.ExitStack()
        self.app: Flask
        self.emulator: RunningEmulator
        self.stripe: FaultProxy
        self.smtp: SmtpServer
        self.server: ShopServer
        self.worker: BackgroundProcess
        self._plans: dict[tuple[str, int], int] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ShopStack:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def _start(self) -> None:
        run_database = RunDatabase()
        self._stack.callback(run_database.close)
        self.database_url = run_database.url
        prepare_database(self.database_url)
        # Huey creates its tables when it is first built; two gunicorn workers booting at once on
        # an empty database race to CREATE them (one fails to boot). Create them up front, as a
        # deploy that starts the worker first would.
        huey.PostgresHuey("musclebox", dsn=self.queue_url())
        self.emulator = self._stack.enter_context(RunningEmulator(api_key="sk_test_stripefaults"))
        self.app = create_app(
            {
                "SHOP_ENV": "testing",
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET_KEY,
                "SQLALCHEMY_DATABASE_URI": self.database_url,
                "SITE_URL": "http://shop.test",
                "RATELIMIT_STORAGE_URI": "memory://",
                "STRIPE_SECRET_KEY": self.emulator.api_key,
                "STRIPE_API_BASE": self.emulator.base_url,
                "JOB_QUEUE_URL": "immediate://",
            }
        )
        self._stack.callback(self._dispose)
        self._seed()

        self.stripe = self._stack.enter_context(FaultProxy("127.0.0.1", self.emulator.port))
        self.smtp = self._stack.enter_context(SmtpServer())
        env = shop_env(
            self.database_url,
            STRIPE_SECRET_KEY=self.emulator.api_key,
            STRIPE_API_BASE=f"http://{self.stripe.address}",
            JOB_QUEUE_URL=self.queue_url(),
            MAIL_URL=self.smtp.url,
            **SETTINGS,
        )
        self.server = ShopServer(env, workers=2, log_path=self.workdir / "gunicorn.log")
        self.emulator.emulator.ensure_webhook_endpoint(
            self.server.url("/webhooks/stripe"), secret=TEST_WEBHOOK_SECRET
        )
        self._stack.enter_context(self.server)
        self.worker = BackgroundProcess(
            [FLASK, "--app", "shop", "worker", "--threads", str(self.worker_threads)],
            env,
            self.workdir / "worker.log",
        )
        self._stack.enter_context(self.worker)
        if not self.worker.wait_for_log("worker:", timeout=15):
            raise RuntimeError(f"the job worker did not start:\n{self.worker.log_text()}")

    def queue_url(self) -> str:
        """Huey on PostgreSQL in this run's database (LISTEN/NOTIFY: jobs start at once)."""
        url = sa.engine.make_url(self.database_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _seed(self) -> None:
        from shop.billing.gateway import gateway
        from shop.catalog.services import sync_catalogue
        from shop.demo import seed_demo

        with self.app.app_context():
            seed_demo()
            sync_catalogue(gateway())
            make_customer(SIGN_IN_EMAIL, name="Sam Lifter")
            for plan in db.session.scalars(sa.select(Plan)):
                self._plans[(plan.box.slug, plan.term_months)] = plan.id
            db.session.remove()

    def _dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    # -- helpers -----------------------------------------------------------------------------

    def stripe_mode(self, mode: str) -> None:
        """Make Stripe `mode`: pass, refuse, hang, 500 or 429 (with Retry-After: 1).

        Refusing also closes the connections the shop keeps alive (as a Stripe that went away
        would), so every call meets the refusal. Returns once every open connection has seen the
        switch: a request racing it could get the old mode's answer, or none (see
        `wait_for_switch`).
        """
        if mode == "pass":
            self.stripe.passthrough()
        elif mode == "refuse":
            self.stripe.cut()
            self.stripe.refuse()
        elif mode == "hang":
            self.stripe.hang()
        elif mode == "429":
            self.stripe.http_status(429, {"Retry-After": "1"})
        else:
            self.stripe.http_status(int(mode))
        wait_for_switch()

    def mail_mode(self, mode: str) -> None:
        """Switch the SMTP server's mode (see `tests.faults.smtp`), settled like `stripe_mode`."""
        self.smtp.set_mode(mode)
        wait_for_switch()

    def browser(self) -> Browser:
        return Browser(self)

    def plan_id(self, box_slug: str, term_months: int) -> int:
        return self._plans[(box_slug, term_months)]

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        """An app context on the shop's database; what it reads is fresh each time."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def pay(self, checkout_url: str, *, email: str, card: str = GOOD_CARD) -> str:
        """Pay a Checkout Session on the emulator's hosted page (not through the proxy).

        Returns the session id the success page is called with.
        """
        # The hosted page's address names the proxy the shop reached Stripe through.
        parts = urlsplit(checkout_url)
        assert parts.hostname == "127.0.0.1", checkout_url
        pages = self.emulator.app.test_client()
        paid = pages.post(
            parts.path + (f"?{parts.query}" if parts.query else ""),
            data=card_form(card, email=email, card_name="Bea Buyer", shipping_name="Bea Buyer"),
        )
        assert paid.status_code == 303, paid.get_data(as_text=True)
        found = re.search(r"session_id=(cs_test_[A-Za-z0-9]+)", paid.headers["Location"])
        assert found, paid.headers["Location"]
        return found.group(1)

    def deliver_webhooks(self) -> list[tuple[str, str, Answer]]:
        """Deliver the emulator's pending events to gunicorn, as Stripe would.

        Returns (event id, type, answer) for each delivery.
        """
        delivered: list[tuple[str, str, Answer]] = []

        def transport(url: str, payload: bytes | str, headers: dict[str, str]) -> int:
            body = payload.encode() if isinstance(payload, str) else payload
            started = time.monotonic()
            response = requests.post(
                self.server.url("/webhooks/stripe"), data=body, headers=headers, timeout=30
            )
            answer = Answer(
                response.status_code,
                time.monotonic() - started,
                dict(response.headers),
                response.text,
            )
            event = json.loads(body)
            delivered.append((event["id"], event["type"], answer))
            return response.status_code

        self.emulator.emulator.deliver_pending(force=True, transport=transport)
        return delivered

    def logs(self) -> str:
        return (
            "--- gunicorn ---\n"
            + "\n".join(self.server.log_text().splitlines()[-40:])
            + "\n--- worker ---\n"
            + "\n".join(self.worker.log_text().splitlines()[-40:])
        )
