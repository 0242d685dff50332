"""Processes killed in the middle of their work lose nothing and do nothing twice (PostgreSQL).

(a) A job worker SIGKILLed while jobs are in flight (Stripe hangs behind a FaultProxy, so each
    job sits inside its transaction, holding its claim): the claimed events stay queued, as
    they were (the transaction died with the process), and their jobs are gone from Redis with
    the worker; `sweep-jobs` (JOB_LOST_AFTER_SECONDS=2) queues them again and a new worker
    applies every event once and sends every email once.
(b) A gunicorn web worker SIGKILLed mid-request while eight senders deliver webhooks: the
    senders retry what failed (as Stripe does), and every event is recorded once and applied.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from shop.stripe_emulator.testing import RunningEmulator
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.faults.proxy import FaultProxy
from tests.faults.servers import TEST_WEBHOOK_SECRET as SECRET
from tests.faults.smtp import SmtpServer
from tests.faults.storm import (
    DeliveryReport,
    StormShopServer,
    check_convergence,
    deliver,
    deliveries,
    job_worker,
    jobs_in_flight,
    jobs_in_redis,
    locked_events,
    pending_work,
    prepare_shop,
    storm_env,
    sweep_jobs,
    wait_until_settled,
)
from tests.faults.storm_history import generate_history

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="row claims, advisory locks and killed connections rolled back: PostgreSQL only "
    "(TEST_DATABASE_URL=postgresql...)",
)

JOB_THREADS = 4
LOST_AFTER_SECONDS = 2
SETTLE_SECONDS = 90


@pytest.fixture
def running() -> Iterator[RunningEmulator]:
    with RunningEmulator(api_key="sk_test_killed") as emulator:
        yield emulator


def wait_for(condition, timeout: float, step: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def test_a_job_worker_killed_mid_job_loses_nothing(show, running, tmp_path):
    app, price_ids = prepare_shop(TEST_DATABASE_URL, running)

    with SmtpServer() as smtp, FaultProxy("127.0.0.1", running.port) as stripe:
        env = storm_env(
            TEST_DATABASE_URL,
            running,
            smtp,
            STRIPE_API_BASE=f"http://127.0.0.1:{stripe.port}",
            JOB_LOST_AFTER_SECONDS=str(LOST_AFTER_SECONDS),
        )
        with StormShopServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as shop:
            url = shop.url("/webhooks/stripe")

            def as_it_happens(events: list[tuple[str, str]]) -> None:
                """The first months, applied normally: the shop sees subscriptions live."""
                with job_worker(env, tmp_path / "worker-0.log", JOB_THREADS):
                    batch, _duplicates = deliveries(events, duplicate_ratio=0.1, seed=3)
                    assert not deliver(url, batch, secret=SECRET).gave_up
                    assert wait_until_settled(app, SETTLE_SECONDS)[0]

            history = generate_history(
                running,
                price_ids,
                subscriptions=24,
                days=150,
                seed=3,
                checkpoints=(60,),
                on_checkpoint=as_it_happens,
            )
            sent_ids = {event_id for event_id, _body in history.events}
            rest = [event for event in history.events if event[0] not in applied_ids(app)]
            # Once each: every event then has exactly one job in Redis, so a job the killed
            # worker took is gone from the queue, and only the sweep can bring it back.
            assert not deliver(url, rest, secret=SECRET).gave_up
            stripe.hang()  # every job that asks Stripe now waits inside its transaction
            first = job_worker(env, tmp_path / "worker-1.log", JOB_THREADS).start()
            second = job_worker(env, tmp_path / "worker-2.log", JOB_THREADS)
            try:
                # Mid-job: a job holds a subscription's lock while Stripe hangs. Its siblings
                # may wait on the same subscription's lock (events of one subscription come
                # together), so not every thread holds one: give them a moment to claim theirs.
                assert wait_for(lambda: jobs_in_flight(app) >= 1, 30), first.log_text()
                time.sleep(2)
                claimed = locked_events(app)
                assert 1 <= len(claimed) <= JOB_THREADS, claimed
                victim = first.pid
                first.kill()
                # PostgreSQL sees the connections drop and rolls their transactions back.
                assert wait_for(lambda: jobs_in_flight(app) == 0, 10)
                half_written = half_written_events(app, claimed)
                assert half_written == [], half_written

                # The killed worker had taken their jobs off the queue: they are gone with it.
                waiting = {
                    args[0] for name, args in jobs_in_redis() if name.endswith("apply_event")
                }
                lost_jobs = [record_id for record_id in claimed if record_id not in waiting]

                stripe.passthrough()
                time.sleep(LOST_AFTER_SECONDS + 0.5)
                swept = sweep_jobs(env)
                second.start()
                settled, waited = wait_until_settled(app, SETTLE_SECONDS)
                assert settled, f"still pending: {pending_work(app)}\n{second.log_text()[-3000:]}"
            finally:
                first.stop()
                second.stop()
        time.sleep(0.3)
        result = check_convergence(
            app,
            running.emulator,
            sent_ids,
            smtp.messages,
            subscription_ids=history.subscription_ids,
        )
    # The new worker also sweeps as it starts (then every minute): count both.
    periodic = sum(
        int(line.split("sweep: ")[1].split()[0])
        for line in second.log_text().splitlines()
        if "webhook events were overdue" in line
    )
    show(
        f"\nkilled worker pid {victim} mid-job ({len(claimed)} jobs in flight: events {claimed} "
        f"left queued, untouched; {len(lost_jobs)} of their jobs gone from Redis with it); "
        f"after restart + sweep (sweep-jobs: '{swept}'; the worker's minute sweep: {periodic} "
        f"found): {len(sent_ids)} events, {len(result.lost)} lost, "
        f"{len(result.twice)} applied twice, {result.facts['emails sent']} emails sent once "
        f"(settled {waited:.1f}s after the sweep)"
    )
    show("facts:", dict(sorted(result.facts.items())))
    assert lost_jobs, "no job was lost with the worker: the sweep was not needed"
    assert not result.lost and not result.twice and not result.differ, result.problems()
    assert not result.misordered, result.problems()


def applied_ids(app) -> set[str]:  # type: ignore[no-untyped-def]
    from shop.billing.models import WebhookEvent
    from shop.extensions import db

    with app.app_context():
        ids = set(db.session.scalars(select(WebhookEvent.stripe_event_id)))
        db.session.remove()
    return ids


def half_written_events(app, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    """The claimed events that are no longer exactly as recorded (queued, never attempted)."""
    from shop.billing.models import EventOutcome, WebhookEvent
    from shop.extensions import db

    with app.app_context():
        rows = [db.session.get(WebhookEvent, record_id) for record_id in ids]
        bad = [
            f"{row.id} {row.type}: {row.outcome.value}, attempts {row.attempts}, {row.error}"
            for row in rows
            if row is not None
            and (
                row.outcome is not EventOutcome.QUEUED
                or row.attempts
                or row.processed_at
                or row.error
            )
        ]
        db.session.remove()
    return bad


def test_a_web_worker_killed_mid_request_loses_nothing(show, running, tmp_path):
    app, price_ids = prepare_shop(TEST_DATABASE_URL, running)
    kills: list[tuple[int, int]] = []  # (pid, deliveries done when it was killed)

    with SmtpServer() as smtp:
        env = storm_env(TEST_DATABASE_URL, running, smtp)
        with StormShopServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as shop:
            worker = job_worker(env, tmp_path / "worker.log", JOB_THREADS).start()

            def as_it_happens(events: list[tuple[str, str]]) -> None:
                """The first months, delivered calmly: the shop sees subscriptions live."""
                assert not deliver(shop.url("/webhooks/stripe"), events, secret=SECRET).gave_up
                assert wait_until_settled(app, SETTLE_SECONDS)[0]

            history = generate_history(
                running,
                price_ids,
                subscriptions=30,
                days=240,
                seed=5,
                checkpoints=(30,),
                on_checkpoint=as_it_happens,
            )
            sent_ids = {event_id for event_id, _body in history.events}
            rest = [event for event in history.events if event[0] not in applied_ids(app)]
            batch, duplicates = deliveries(rest, duplicate_ratio=0.2, seed=5)
            kill_at = {len(batch) // 4, len(batch) * 3 // 5}

            def kill_a_web_worker(report: DeliveryReport, done: int) -> None:
                if done in kill_at:
                    kill_at.discard(done)
                    kills.append((shop.kill_worker(), done))

            try:
                report = deliver(
                    shop.url("/webhooks/stripe"),
                    batch,
                    secret=SECRET,
                    duplicates=duplicates,
                    during=kill_a_web_worker,
                )
                assert len(shop.wait_for_workers(2)) == 2, "gunicorn did not replace its worker"
                settled, _waited = wait_until_settled(app, SETTLE_SECONDS)
                assert settled, f"still pending: {pending_work(app)}"
            finally:
                worker.stop()
        time.sleep(0.3)
        result = check_convergence(
            app,
            running.emulator,
            sent_ids,
            smtp.messages,
            subscription_ids=history.subscription_ids,
        )
    failed = sum(report.retried.values())
    show(
        f"\nkilled web worker pid(s) {', '.join(str(pid) for pid, _ in kills)} mid-stream "
        f"(after {', '.join(str(done) for _, done in kills)} deliveries; {failed} POSTs failed "
        f"and were retried: {dict(report.retried)}); {report.events} events in the stream, "
        f"{report.duplicates} duplicates, {len(sent_ids)} in all: {len(result.lost)} lost, "
        f"{len(result.twice)} applied twice, {result.facts['emails sent']} emails sent once"
    )
    show("facts:", dict(sorted(result.facts.items())))
    assert len(kills) == 2
    assert not report.gave_up, report.gave_up[:5]
    assert failed > 0, "no request was cut short: the kill did not land mid-request"
    assert not result.lost and not result.twice and not result.differ, result.problems()
    assert not result.misordered, result.problems()
