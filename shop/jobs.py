"""Work off the request path, on Huey: applying Stripe events and sending emails.

The rule: **the database is the record of work to do; the queue only delivers it.** A page or a
webhook commits a row saying what must happen (a `WebhookEvent` in state `queued`, a
`QueuedEmail` in state `pending`) in the same transaction as the change it belongs to, then hands
its id to the queue. A job claims the row, does the work and commits the outcome. So:

- nothing is lost: when the queue loses a job (a worker killed mid-job, Redis restarted, an
  enqueue that failed while the queue was down), `sweep`, run every minute by the worker, finds the
  row still due and enqueues it again;
- nothing happens twice: the row is claimed under a lock or a conditional UPDATE, and a job for
  a row already done does nothing, so a job delivered twice is harmless;
- a failure is retried with backoff (`retry_delay`), and after `max_attempts` the row ends as
  failed, for an admin to see and process again.

`JOB_QUEUE_URL` chooses the storage: `sqlite:///path` (the default, `instance/jobs.sqlite3`: no
service to run), `redis://host:6379/0` or `postgresql://...` in production, and `immediate://`
(tests: a job runs at once, in-process, when it is enqueued; delayed retries wait until the
test runs them, `tests.helpers.run_delayed_jobs`). The worker is `flask --app shop worker`.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import huey
from flask import Flask, current_app, g
from sqlalchemy import Select, func, select

from shop.db import is_database_unavailable, utcnow
from shop.extensions import db

logger = logging.getLogger(__name__)

# A failed attempt n waits JOB_RETRY_SECONDS · 2^(n-1), at most an hour: by default 30 s, 1, 2,
# 4, 8, 16, 32 min, 1 h…
LONGEST_RETRY_SECONDS = 60 * 60
SWEEP_EVERY_MINUTES = 1
# A job may run this much before its row is due (the scheduler's tick, clocks a little apart);
# any earlier (a duplicate delivery during a backoff) it leaves the row alone.
DUE_SLACK = timedelta(seconds=2)

JobFunction = Callable[..., object]
_JOBS: dict[str, tuple[JobFunction, int]] = {}


@dataclass(frozen=True)
class Backlog:
    """A kind of work kept in the database, as the sweep and the admin see it."""

    what: str  # "webhook events", for logs and pages
    job_name: str  # the job that works on one row, given its id
    overdue: Callable[[datetime], Select[tuple[int]]]  # ids of rows due before a moment
    requeued: Callable[[list[int]], None]  # note that these rows were queued again now


_BACKLOGS: list[Backlog] = []


def job(*, priority: int = 0) -> Callable[[JobFunction], JobFunction]:
    """Register a function as a job, run by name; domains register theirs at import time.
    Waiting jobs of a higher `priority` run first (an email before a backlog of Stripe events:
    a customer waits for a sign-in link, nobody for an event)."""

    def register(function: JobFunction) -> JobFunction:
        _JOBS[function.__name__] = (function, priority)
        return function

    return register


def register_backlog(backlog: Backlog) -> None:
    """Register a domain's work for the sweep and for `overdue_work` (at import time)."""
    _BACKLOGS.append(backlog)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1-based)."""
    seconds = current_app.config["JOB_RETRY_SECONDS"] * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, LONGEST_RETRY_SECONDS))


def lost_after() -> timedelta:
    """A due row whose job has not run this long after it was due is taken to be lost."""
    return timedelta(seconds=current_app.config["JOB_LOST_AFTER_SECONDS"])


def due_by() -> datetime:
    """Rows due before this may be worked on now."""
    return utcnow() + DUE_SLACK


def in_job() -> bool:
    """True while a job runs: Stripe calls may then wait longer and retry (see the gateway)."""
    return bool(g.get("in_job"))


def init_jobs(app: Flask) -> None:
    """Build the app's Huey from JOB_QUEUE_URL and register every job and the sweep on it."""
    # The jobs live in their domains; importing them registers them.
    from shop.billing import webhooks  # noqa: F401
    from shop.mail import queue  # noqa: F401

    queue_huey = _huey(app.config["JOB_QUEUE_URL"], Path(app.instance_path))
    tasks: dict[str, Any] = {}
    for name, (function, priority) in _JOBS.items():
        tasks[name] = queue_huey.task(name=name, priority=priority or None)(
            _in_app_context(app, function)
        )
    queue_huey.periodic_task(huey.crontab(minute=f"*/{SWEEP_EVERY_MINUTES}"), name="sweep")(
        _in_app_context(app, sweep)
    )
    app.extensions["huey"] = queue_huey
    app.extensions["jobs"] = tasks


def enqueue(name: str, *args: Any, delay: timedelta | None = None) -> bool:
    """Hand a job to the queue, now or after `delay`. Never raises: False when the queue is down.

    Callers have committed the row the job works on, so a job that could not be enqueued is found
    by the next sweep.
    """
    task = current_app.extensions["jobs"][name]
    try:
        if delay is None:
            task(*args)
        else:
            task.schedule(args, delay=delay.total_seconds())
    except Exception as exc:  # the queue's storage is down: the sweep will find the row
        logger.warning("job %s could not be enqueued (%s); the sweep will retry it", name, exc)
        return False
    return True


def prepare_storage(queue_huey: huey.Huey) -> None:
    """Create the queue's tables if its storage has any (PostgreSQL). Two workers starting at
    once may race: the loser finds them made."""
    if isinstance(queue_huey, huey.PostgresHuey):
        try:
            queue_huey.storage.initialize_schema()
        except Exception:
            logger.info("the queue's tables were being made by another worker; trying again")
            queue_huey.storage.initialize_schema()


def sweep() -> int:
    """Enqueue again every row whose job is overdue (lost). Returns how many; run every minute.

    Each row found is marked queued again now, so a long backlog is not queued again every
    minute: only once per JOB_LOST_AFTER_SECONDS.
    """
    found = 0
    before = utcnow() - lost_after()
    for backlog in _BACKLOGS:
        ids = list(db.session.scalars(backlog.overdue(before)))
        if ids:
            backlog.requeued(ids)
        db.session.commit()
        for row_id in ids:
            enqueue(backlog.job_name, row_id)
        if ids:
            logger.warning("sweep: %s %s were overdue and are queued again", len(ids), backlog.what)
        found += len(ids)
    return found


def overdue_work() -> dict[str, int]:
    """How many rows of each kind are overdue: more than zero means no worker is taking them
    (stopped, or pointed at another queue). For the admin's warning and /healthz/jobs."""
    before = utcnow() - lost_after()
    return {
        backlog.what: db.session.scalar(
            select(func.count()).select_from(backlog.overdue(before).subquery())
        )
        or 0
        for backlog in _BACKLOGS
    }


def _in_app_context(app: Flask, function: JobFunction) -> JobFunction:
    def in_context(*args: Any) -> object:
        with app.app_context():
            g.in_job = True
            try:
                return function(*args)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise  # a bug: Huey logs it with its traceback; the sweep retries the row
                # The database is down: nothing was recorded, the row is still due, and the
                # sweep takes it up once the database is back. One line, not a traceback.
                logger.warning(
                    "job %s: database unavailable (%s); it will run again",
                    function.__name__,
                    type(exc).__name__,
                )
                return None

    def run(*args: Any) -> object:
        # A fresh context, as in a worker, even when an immediate job runs inside a request:
        # the job sees no request, and has its own database session.
        return contextvars.Context().run(in_context, *args)

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


def _huey(url: str, instance_path: Path) -> huey.Huey:
    """The Huey for JOB_QUEUE_URL (see the module docstring)."""
    scheme = urlsplit(url).scheme
    options: dict[str, Any] = {"name": "musclebox", "results": False, "utc": True}
    if scheme == "immediate":
        return huey.MemoryHuey(immediate=True, **options)
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///") or str(instance_path / "jobs.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return huey.SqliteHuey(filename=path, **options)
    if scheme in {"redis", "rediss"}:
        return huey.PriorityRedisHuey(url=url, **options)  # priorities need Redis 5 or newer
    if scheme in {"postgresql", "postgresql+psycopg", "postgres"}:
        # Its tables are made by the worker (`prepare_storage`): web workers booting together
        # would race to create them.
        dsn = "postgresql://" + url.split("://", 1)[1]
        return huey.PostgresHuey(dsn=dsn, create_tables=False, **options)
    raise ValueError(f"JOB_QUEUE_URL has an unknown scheme: {scheme!r}")
