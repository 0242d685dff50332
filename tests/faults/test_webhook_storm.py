"""A webhook storm on PostgreSQL: a year of Stripe history, delivered shuffled, twice in part, by
eight senders at once, to the shop under gunicorn with job workers on Redis — and the shop ends
exactly where Stripe is, every box granted once and in the month its period paid for, every email
sent once.

The history (tests/faults/storm_history.py) is made on the emulator with no webhook endpoint, so
nothing is delivered while it is made; its events are then posted as Stripe posts them, signed
with the secret the shop runs with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shop.billing.reconcile import reconcile_subscriptions
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.faults.servers import TEST_WEBHOOK_SECRET
from tests.faults.smtp import SmtpServer
from tests.faults.storm import (
    DeliveryReport,
    StormShopServer,
    check_convergence,
    deliver,
    deliveries,
    job_worker,
    pending_work,
    prepare_shop,
    storm_env,
    wait_until_settled,
)
from tests.faults.storm_history import History, generate_history

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="a storm of concurrent deliveries means something only on PostgreSQL "
    "(row locks, advisory locks; TEST_DATABASE_URL=postgresql...)",
)

SENDERS = 8
WEB_WORKERS = 3
JOB_WORKERS = 2
SETTLE_SECONDS = 150


@pytest.fixture
def running() -> Iterator[RunningEmulator]:
    with RunningEmulator(api_key="sk_test_storm") as emulator:
        yield emulator


def test_a_year_of_events_shuffled_and_duplicated_converges_on_stripe(show, running, tmp_path):
    database_url = TEST_DATABASE_URL
    app, price_ids = prepare_shop(database_url, running)
    phases: list[tuple[DeliveryReport, float]] = []

    with SmtpServer() as smtp:
        env = storm_env(database_url, running, smtp)
        workers = [job_worker(env, tmp_path / f"worker-{n}.log") for n in range(JOB_WORKERS)]
        with StormShopServer(env, workers=WEB_WORKERS, log_path=tmp_path / "gunicorn.log") as shop:

            def storm(events: list[tuple[str, str]]) -> None:
                """Deliver a batch (+20% duplicates, shuffled, 8 senders) and wait it out."""
                batch, duplicates = deliveries(events, duplicate_ratio=0.2, seed=len(phases))
                report = deliver(
                    shop.url("/webhooks/stripe"),
                    batch,
                    secret=TEST_WEBHOOK_SECRET,
                    senders=SENDERS,
                    duplicates=duplicates,
                )
                settled, waited = wait_until_settled(app, SETTLE_SECONDS)
                assert settled, f"still pending (events, emails) after {waited:.0f}s: " + str(
                    pending_work(app)
                )
                assert not report.gave_up, f"deliveries given up: {report.gave_up[:5]}"
                phases.append((report, waited))

            try:
                for worker in workers:
                    worker.start()
                made = time.monotonic()
                # Half the year is delivered as it happened, so the shop sees subscriptions live
                # before they end (the emails of ends and failures); the rest comes in one storm.
                history: History = generate_history(
                    running,
                    price_ids,
                    subscriptions=110,
                    seed=8,
                    checkpoints=(180,),
                    on_checkpoint=storm,
                )
                made = time.monotonic() - made - phases[0][0].seconds - phases[0][1]
                events_before = len(running.emulator.data["events"])
                storm(history.events[-(len(history.events) - phases[0][0].events) :])
                assert len(running.emulator.data["events"]) == events_before, "Stripe moved on"
                time.sleep(0.5)  # the capture server has the last emails by then
                messages = smtp.messages
            finally:
                for worker in workers:
                    worker.stop()

        sent_ids = {event_id for event_id, _body in history.events}
        result = check_convergence(
            app, running.emulator, sent_ids, messages, subscription_ids=history.subscription_ids
        )
        with app.app_context():
            # The shop's own repair finds nothing to repair either.
            repairs = [d for d in reconcile_subscriptions() if d.field != "skipped"]
            db.session.remove()
    show(f"\nhistory: {history.summary()}, made in {made:.1f}s")
    assert len(history.subscription_ids) >= 100 and len(history.events) > 1000
    for wanted in ("invoice.payment_failed", "customer.subscription.deleted", "invoice.voided"):
        assert history.event_types[wanted] > 0, wanted
    events = sum(report.events for report, _waited in phases)
    duplicates = sum(report.duplicates for report, _waited in phases)
    assert events == len(sent_ids)
    show(
        f"{events} events, {duplicates} duplicates, {SENDERS} senders: "
        f"{len(result.lost)} lost, {len(result.twice)} applied twice"
    )
    show(
        "delivery "
        + ", then ".join(
            f"{report.events} events in {report.seconds:.1f}s ({report.attempts} POSTs, "
            f"retried {dict(report.retried) or 'none'}), converged {waited:.1f}s later"
            for report, waited in phases
        )
    )
    in_order = len(history.subscription_ids) - len(result.misordered)
    show(f"calendars: {in_order} of {len(history.subscription_ids)} in the order paid")
    show("facts:", dict(sorted(result.facts.items())))
    show(f"reconcile afterwards: {len(repairs)} repairs")
    assert result.facts["emails sent"] > 0
    assert repairs == [], repairs[:10]
    assert not result.lost and not result.twice and not result.differ, result.problems()
    assert not result.misordered, result.problems()
