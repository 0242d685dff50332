"""Deliver captured Stripe events to a running shop as Stripe would, wait, and judge the result.

- `prepare_shop(database_url, running)`: a fresh database (migrations), Redis dbs 7 and 8
  flushed, the demo catalogue synced to the emulator; returns an in-process app (to read the
  database) and the plans' Stripe price ids. `storm_env(...)` is the environment of the gunicorn
  shop and its job workers; `job_worker(env, log)` a `flask --app shop worker`.
- `deliveries(events, duplicate_ratio, seed)`: every event once plus a share of duplicates,
  shuffled.
- `deliver(url, deliveries, secret, senders)`: `senders` threads POST them, each signed afresh in
  Stripe's scheme; a non-2xx answer or a connection error is retried with backoff, a bounded
  number of times (Stripe retries for days; a test cannot). Returns a `DeliveryReport`.
- `wait_until_settled(app, timeout)`: poll until no event is queued and no email pending.
- `check_convergence(app, emulator, sent_ids, messages)`: compare the shop with the emulator and
  the mail server; returns a `Convergence` whose `lost` and `applied_twice` are counted, with
  every problem written out.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from flask import Flask, current_app
from sqlalchemy import func, select, text

from shop import create_app
from shop.billing.calendar import months_for_period
from shop.billing.gateway import gateway
from shop.billing.models import CalendarBox, EventOutcome, Invoice, Subscription, WebhookEvent
from shop.billing.stripe_data import line_price, period_line
from shop.catalog.models import Plan
from shop.catalog.services import sync_catalogue
from shop.dates import shop_timezone
from shop.demo import seed_demo
from shop.extensions import db
from shop.mail.models import EmailStatus, QueuedEmail
from shop.stripe_emulator.core import Emulator
from shop.stripe_emulator.testing import RunningEmulator
from shop.stripe_emulator.webhooks import delivery_headers
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

# Redis databases of their own (the queue's name is fixed, so two runs on one database would
# take each other's jobs); STORM_JOB_QUEUE_URL / STORM_RATE_LIMITS_URL move them.
JOB_QUEUE_URL = os.environ.get("STORM_JOB_QUEUE_URL") or "redis://127.0.0.1:6379/7"
RATE_LIMITS_URL = os.environ.get("STORM_RATE_LIMITS_URL") or "redis://127.0.0.1:6379/8"
JOB_THREADS = 4
# A child started through this dies with the test process (prctl PR_SET_PDEATHSIG = SIGKILL,
# kept across exec): a test killed by a timeout leaves no job worker behind to take the jobs
# of the next run from the shared Redis database.
DIE_WITH_PARENT = [
    sys.executable,
    "-c",
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL); "
    "os.execv(sys.argv[1], sys.argv[1:])",
]


class RedisInUse(RuntimeError):
    """Another process works on the Redis database these tests need to themselves."""


def flush_redis(url: str) -> None:
    """Empty the Redis database at `url`; RedisInUse when anyone else is connected to it (a job
    worker of another run would take this run's jobs, and nothing here could converge)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        me = client.client_id()
        db_number = client.connection_pool.connection_kwargs.get("db", 0)
        others = [
            c for c in client.client_list() if int(c["db"]) == db_number and int(c["id"]) != me
        ]
        if others:
            seen = ", ".join(f"{c['addr']} (age {c['age']}s, {c['cmd']})" for c in others[:5])
            raise RedisInUse(
                f"Redis db {db_number} is in use by {len(others)} other client(s): {seen}. "
                "Another run (or a job worker it left behind) shares it; stop it, or point "
                "STORM_JOB_QUEUE_URL / STORM_RATE_LIMITS_URL at free databases."
            )
        client.flushdb()
    finally:
        client.close()


def local_app(database_url: str, running: RunningEmulator) -> Flask:
    """The shop in this process, for setting up the catalogue and reading the database."""
    return create_app(
        {
            "SHOP_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SITE_URL": "http://shop.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            "JOB_QUEUE_URL": "immediate://",
            "STRIPE_SECRET_KEY": running.api_key,
            "STRIPE_API_BASE": running.base_url,
            "STRIPE_WEBHOOK_SECRET": (TEST_WEBHOOK_SECRET,),
        }
    )


def storm_env(
    database_url: str, running: RunningEmulator, smtp: SmtpServer, **more: str
) -> dict[str, str]:
    """The environment of the gunicorn shop and its job workers (`more` overrides)."""
    settings = {
        "STRIPE_SECRET_KEY": running.api_key,
        "STRIPE_API_BASE": running.base_url,
        "MAIL_URL": smtp.url,
        "JOB_QUEUE_URL": JOB_QUEUE_URL,
        "RATELIMIT_STORAGE_URI": RATE_LIMITS_URL,
        # Retries in a second, not 30: a lock wait or a deadlock retried must converge in the test.
        "JOB_RETRY_SECONDS": "1",
    }
    return shop_env(database_url, **{**settings, **more})


def prepare_shop(database_url: str, running: RunningEmulator) -> tuple[Flask, dict[str, str]]:
    """A fresh database with the demo catalogue synced to the emulator; (app, price ids)."""
    prepare_database(database_url)
    for url in (JOB_QUEUE_URL, RATE_LIMITS_URL):
        flush_redis(url)
    app = local_app(database_url, running)
    with app.app_context():
        seed_demo()
        sync_catalogue(gateway())
        price_ids = {
            plan.lookup_key: plan.stripe_price_id for plan in db.session.scalars(select(Plan))
        }
        db.session.remove()
    return app, price_ids  # type: ignore[return-value]


def job_worker(env: dict[str, str], log: Path, threads: int = JOB_THREADS) -> BackgroundProcess:
    """`flask --app shop worker --threads N` (not started)."""
    return BackgroundProcess(
        [*DIE_WITH_PARENT, FLASK, "--app", "shop", "worker", "--threads", str(threads)], env, log
    )


class StormShopServer(ShopServer):
    """`ShopServer` whose gunicorn dies with the test process (see DIE_WITH_PARENT)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.argv = [*DIE_WITH_PARENT, *self.argv]


def sweep_jobs(env: dict[str, str], timeout: float = 30) -> str:
    """Run `flask --app shop sweep-jobs` once; its output."""
    import subprocess

    from tests.faults.servers import PROJECT_ROOT

    done = subprocess.run(
        [FLASK, "--app", "shop", "sweep-jobs"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout.strip()


def jobs_in_redis(url: str = JOB_QUEUE_URL) -> list[tuple[str, tuple[Any, ...]]]:
    """(name, args) of every job waiting in the Redis queue or its schedule (retries)."""
    import huey

    # As the shop builds it (shop.jobs): priorities, so emails go before events.
    queue = huey.PriorityRedisHuey(name="musclebox", url=url, results=False, utc=True)
    try:
        items = [*queue.storage.enqueued_items(), *queue.storage.scheduled_items()]
        messages = [queue.serializer.deserialize(item) for item in items]
        return [(message.name, tuple(message.args)) for message in messages]
    finally:
        queue.storage.pool.disconnect()


def jobs_in_flight(app: Flask) -> int:
    """Subscription locks held: each job applying an event holds one while it asks Stripe."""
    with app.app_context():
        count = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        db.session.remove()
    return int(count or 0)


def locked_events(app: Flask) -> list[int]:
    """Ids of queued events a job has claimed (row-locked) right now. Only call it when no job
    is claiming (its brief share lock would make a claim skip the row)."""
    with app.app_context():
        queued = set(
            db.session.scalars(
                select(WebhookEvent.id).where(WebhookEvent.outcome == EventOutcome.QUEUED)
            )
        )
        free = set(
            db.session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.outcome == EventOutcome.QUEUED)
                .with_for_update(read=True, skip_locked=True)
            )
        )
        db.session.rollback()
        db.session.remove()
    return sorted(queued - free)


MAX_DELIVERY_ATTEMPTS = 8
REQUEST_TIMEOUT_SECONDS = 15


@dataclass
class DeliveryReport:
    events: int
    duplicates: int
    senders: int
    attempts: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # why a delivery was tried again
    gave_up: list[str] = field(default_factory=list)
    seconds: float = 0.0


def deliveries(
    events: list[tuple[str, str]], *, duplicate_ratio: float = 0.2, seed: int = 8
) -> tuple[list[tuple[str, str]], int]:
    """Each event once plus `duplicate_ratio` of them again, shuffled; and the duplicates' count."""
    rng = random.Random(seed)
    extra = rng.sample(events, round(len(events) * duplicate_ratio))
    batch = [*events, *extra]
    rng.shuffle(batch)
    return batch, len(extra)


def deliver(
    url: str,
    batch: list[tuple[str, str]],
    *,
    secret: str,
    senders: int = 8,
    duplicates: int = 0,
    during: Any = None,
) -> DeliveryReport:
    """POST every (event id, body) of `batch` to `url` from `senders` threads (see the module
    docstring). `during(report, done)`, if given, is called by each sender after each success
    (for a test to inject a fault mid-stream)."""
    report = DeliveryReport(events=len(batch) - duplicates, duplicates=duplicates, senders=senders)
    lock = threading.Lock()
    position = iter(range(len(batch)))
    done = [0]

    def send() -> None:
        session = requests.Session()
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            event_id, body = batch[index]
            for attempt in range(MAX_DELIVERY_ATTEMPTS):
                reason = None
                try:
                    response = session.post(
                        url,
                        data=body.encode(),
                        headers=delivery_headers(body, secret),
                        timeout=REQUEST_TIMEOUT_SECONDS,
                    )
                    if 200 <= response.status_code < 300:
                        break
                    reason = f"HTTP {response.status_code}"
                except requests.RequestException as exc:
                    reason = type(exc).__name__
                    session = requests.Session()  # a broken keep-alive connection is dropped
                finally:
                    with lock:
                        report.attempts += 1
                with lock:
                    report.retried[reason] += 1
                time.sleep(min(0.1 * 2**attempt, 2.0))
            else:
                with lock:
                    report.gave_up.append(event_id)
                continue
            with lock:
                done[0] += 1
                count = done[0]
            if during is not None:
                during(report, count)

    started = time.monotonic()
    threads = [threading.Thread(target=send, name=f"sender-{n}") for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    report.seconds = time.monotonic() - started
    return report


def pending_work(app: Flask) -> tuple[int, int]:
    """(events still queued, emails still pending or sending)."""
    with app.app_context():
        events = db.session.scalar(
            select(func.count(WebhookEvent.id)).where(WebhookEvent.outcome == EventOutcome.QUEUED)
        )
        emails = db.session.scalar(
            select(func.count(QueuedEmail.id)).where(
                QueuedEmail.status.in_((EmailStatus.PENDING, EmailStatus.SENDING))
            )
        )
        db.session.remove()
    return events or 0, emails or 0


def wait_until_settled(app: Flask, timeout: float, *, idle: float = 0.5) -> tuple[bool, float]:
    """Poll until no event is queued and no email is pending (twice in a row, `idle` apart).
    Returns (settled, seconds waited)."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < timeout:
        if pending_work(app) == (0, 0):
            quiet += 1
            if quiet >= 2:
                return True, time.monotonic() - started
        else:
            quiet = 0
        time.sleep(idle)
    return False, time.monotonic() - started


@dataclass
class Convergence:
    """What differs between the shop, Stripe and the mail server; empty lists mean converged."""

    lost: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)  # neither lost nor doubled, but not Stripe's
    # Boxes granted, but in other months than the invoices give when applied in the order they
    # were paid (tests/faults/test_calendar_order.py).
    misordered: list[str] = field(default_factory=list)
    facts: Counter[str] = field(default_factory=Counter)

    def problems(self) -> str:
        return "\n".join([*self.lost, *self.twice, *self.differ, *self.misordered][:60])


def _when(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def check_convergence(
    app: Flask,
    emulator: Emulator,
    sent_ids: set[str],
    messages: list[EmailMessage],
    *,
    subscription_ids: list[str] | None = None,
) -> Convergence:
    """Compare everything (see the module docstring); `subscription_ids` limits the Stripe side."""
    result = Convergence()
    with app.app_context():
        _check_events(result, sent_ids)
        with emulator.lock:
            stripe_subs = {
                sub_id: emulator.render(sub)
                for sub_id, sub in emulator.data["subscriptions"].items()
                if subscription_ids is None or sub_id in subscription_ids
            }
            stripe_invoices = [
                emulator.render(invoice) for invoice in emulator.data["invoices"].values()
            ]
        _check_subscriptions(result, stripe_subs)
        _check_calendar(result, stripe_subs, stripe_invoices)
        _check_emails(result, messages)
        db.session.remove()
    return result


def _check_events(result: Convergence, sent_ids: set[str]) -> None:
    rows = db.session.execute(select(WebhookEvent.stripe_event_id, WebhookEvent.outcome)).all()
    recorded = Counter(row.stripe_event_id for row in rows)
    result.facts["event rows"] = len(rows)
    for event_id in sent_ids - set(recorded):
        result.lost.append(f"event {event_id} was sent but never recorded")
    for event_id, count in recorded.items():
        if count > 1:
            result.twice.append(f"event {event_id} recorded {count} times")
    for row in rows:
        result.facts[f"events {row.outcome.value}"] += 1
        if row.outcome in (EventOutcome.QUEUED, EventOutcome.FAILED):
            result.lost.append(f"event {row.stripe_event_id} ended {row.outcome.value}")
    result.facts["events applied after a retry"] = db.session.scalar(
        select(func.count(WebhookEvent.id)).where(WebhookEvent.attempts > 1)
    )


def _check_subscriptions(result: Convergence, stripe_subs: dict[str, dict[str, Any]]) -> None:
    local = {
        sub.stripe_subscription_id: sub for sub in db.session.scalars(select(Subscription)).all()
    }
    result.facts["subscriptions"] = len(local)
    for sub_id, data in stripe_subs.items():
        mine = local.get(sub_id)
        if mine is None:
            result.lost.append(f"subscription {sub_id} is not in the shop")
            continue
        item = data["items"]["data"][0]
        pause = data.get("pause_collection") or {}
        wanted = {
            "status": data["status"],
            "price": item["price"]["id"],
            "current_period_end": _when(item["current_period_end"]),
            "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
            "pause_behavior": pause.get("behavior"),
            "pause_resumes_at": _when(pause.get("resumes_at")),
        }
        have = {
            "status": mine.status.value,
            "price": mine.plan.stripe_price_id,
            "current_period_end": mine.current_period_end,
            "cancel_at_period_end": mine.cancel_at_period_end,
            "pause_behavior": mine.pause_behavior,
            "pause_resumes_at": mine.pause_resumes_at,
        }
        for name, value in wanted.items():
            if have[name] != value:
                result.differ.append(
                    f"subscription {sub_id} {name}: shop {have[name]!r}, Stripe {value!r}"
                )


def _check_calendar(
    result: Convergence, stripe_subs: dict[str, dict[str, Any]], invoices: list[dict[str, Any]]
) -> None:
    terms = {plan.stripe_price_id: plan.term_months for plan in db.session.scalars(select(Plan))}
    expected: dict[str, tuple[str, int]] = {}  # invoice id -> (subscription id, boxes)
    for invoice in invoices:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        sub_id = details.get("subscription")
        line = period_line(invoice)
        if sub_id not in stripe_subs or invoice["status"] != "paid" or line is None:
            continue
        expected[invoice["id"]] = (sub_id, terms[line_price(line)["id"]])
    have = Counter(
        dict(
            db.session.execute(
                select(Invoice.stripe_invoice_id, func.count(CalendarBox.id))
                .join(CalendarBox, CalendarBox.invoice_id == Invoice.id)
                .group_by(Invoice.stripe_invoice_id)
            ).all()
        )
    )
    result.facts["paid invoices"] = len(expected)
    result.facts["boxes expected"] = sum(boxes for _sub, boxes in expected.values())
    result.facts["boxes"] = sum(have.values())
    for invoice_id, (sub_id, boxes) in expected.items():
        if have[invoice_id] < boxes:
            result.lost.append(
                f"invoice {invoice_id} ({sub_id}) paid {boxes} month(s), {have[invoice_id]} box(es)"
            )
        elif have[invoice_id] > boxes:
            result.twice.append(
                f"invoice {invoice_id} ({sub_id}) paid {boxes} month(s), {have[invoice_id]} boxes"
            )
    for invoice_id, count in have.items():
        if invoice_id not in expected:
            result.twice.append(f"invoice {invoice_id} is not paid at Stripe but has {count} boxes")
    _check_ship_months(result, expected, invoices)
    doubled = db.session.execute(
        select(CalendarBox.subscription_id, CalendarBox.ship_month)
        .group_by(CalendarBox.subscription_id, CalendarBox.ship_month)
        .having(func.count(CalendarBox.id) > 1)
    ).all()
    for row in doubled:
        result.twice.append(f"subscription {row[0]} has two boxes in {row[1]}")


def _check_ship_months(
    result: Convergence, expected: dict[str, tuple[str, int]], invoices: list[dict[str, Any]]
) -> None:
    """Each subscription's ship months as its paid invoices give them when applied in the order
    they were paid (the calendar's rule), against the shop's."""
    cutoff, tz = current_app.config["SHIPPING_CUTOFF_DAY"], shop_timezone()
    paid: dict[str, list[tuple[int, int]]] = {}
    for invoice in invoices:
        if invoice["id"] in expected:
            sub_id, boxes = expected[invoice["id"]]
            paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
            paid.setdefault(sub_id, []).append((int(paid_at or invoice["created"]), boxes))
    shop_months: dict[str, list[str]] = {}
    for sub_id, month in db.session.execute(
        select(Subscription.stripe_subscription_id, CalendarBox.ship_month)
        .join(CalendarBox, CalendarBox.subscription_id == Subscription.id)
        .order_by(CalendarBox.ship_month)
    ):
        shop_months.setdefault(sub_id, []).append(month)
    for sub_id, periods in paid.items():
        months: list[str] = []
        for paid_at, boxes in sorted(periods):
            last = months[-1] if months else None
            months += months_for_period(last, _when(paid_at), boxes, cutoff, tz)  # type: ignore[arg-type]
        if shop_months.get(sub_id, []) != months:
            result.misordered.append(
                f"subscription {sub_id} ships {shop_months.get(sub_id)}, paid in order {months}"
            )


def _check_emails(result: Convergence, messages: list[EmailMessage]) -> None:
    by_id = Counter(str(message["Message-ID"]).strip() for message in messages)
    result.facts["emails captured"] = len(messages)
    emails = db.session.scalars(select(QueuedEmail)).all()
    for email in emails:
        result.facts[f"emails {email.status.value}"] += 1
        result.facts[f"email {email.template}"] += 1
        if email.status in (EmailStatus.PENDING, EmailStatus.SENDING, EmailStatus.FAILED):
            result.lost.append(f"email {email.dedupe_key} ended {email.status.value}")
        elif email.status is EmailStatus.SENT:
            seen = by_id.pop(email.message_id.strip(), 0)
            if seen == 0:
                result.lost.append(f"email {email.dedupe_key} marked sent, never received")
            elif seen > 1:
                result.twice.append(f"email {email.dedupe_key} received {seen} times")
    for message_id, count in by_id.items():
        result.twice.append(f"message {message_id} received {count} times, no sent row for it")
