"""The job queue seen from outside: the sweep brings lost work back once per lease, and a
stopped worker shows in /healthz/jobs and in the admin."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shop.billing.models import EventOutcome, WebhookEvent
from shop.db import utcnow
from shop.extensions import db
from shop.jobs import init_jobs, overdue_work, sweep
from tests.helpers import visible_text


def stranded_event(minutes_overdue: int) -> WebhookEvent:
    """An event recorded and queued, whose job nobody ran (the worker is stopped)."""
    record = WebhookEvent(
        stripe_event_id=f"evt_stranded_{minutes_overdue}",
        type="customer.updated",
        stripe_created_at=utcnow(),
        payload={"id": "evt_stranded", "type": "customer.updated", "data": {"object": {}}},
        outcome=EventOutcome.QUEUED,
        attempts=0,
        next_attempt_at=utcnow() - timedelta(minutes=minutes_overdue),
    )
    db.session.add(record)
    db.session.commit()
    return record


def test_healthz_jobs_is_ok_while_the_worker_keeps_up(client):
    stranded_event(minutes_overdue=0)  # just queued: not overdue
    response = client.get("/healthz/jobs")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "overdue": {"webhook events": 0, "emails": 0}}


def test_work_nobody_takes_shows_in_healthz_jobs_and_the_admin(app, client, admin_client):
    stranded_event(minutes_overdue=10)
    response = client.get("/healthz/jobs")
    assert response.status_code == 503
    assert response.get_json()["overdue"] == {"webhook events": 1, "emails": 0}
    page = visible_text(admin_client.get("/admin/"))
    assert "The job worker seems to be stopped. 1 webhook events should have been done" in page


def test_the_sweep_queues_lost_work_again_once_per_lease_not_every_minute(app, tmp_path):
    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)  # a real queue: what the sweep enqueues stays there to be counted
    queue = app.extensions["huey"]
    record = stranded_event(minutes_overdue=10)

    assert sweep() == 1
    assert sweep() == 0, "queued again a moment ago: not lost yet"
    assert [job.args for job in queue.pending()] == [(record.id,)]
    assert overdue_work() == {"webhook events": 0, "emails": 0}

    queue.execute(queue.dequeue())  # the worker's turn: Stripe has no object: ignored
    db.session.expire_all()
    assert db.session.scalar(select(WebhookEvent.outcome)) is EventOutcome.IGNORED


def test_a_waiting_email_goes_before_a_backlog_of_stripe_events(app, tmp_path):
    """A customer waits for a sign-in link; nobody waits for a Stripe event."""
    from shop.jobs import enqueue

    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)
    queue = app.extensions["huey"]
    for n in range(3):
        enqueue("apply_event", n)
    enqueue("send_queued_email", 99)
    assert queue.dequeue().name == "send_queued_email"
    assert {queue.dequeue().name for _ in range(3)} == {"apply_event"}
