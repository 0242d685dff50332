"""The email queue: each email is sent once, retried when the mail server fails, and only if it
is still true when its turn comes."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from sqlalchemy import func, select

from shop.billing.models import ShipmentStatus, SubscriptionStatus
from shop.billing.notifications import AfterCommit
from shop.db import utcnow
from shop.extensions import db
from shop.jobs import init_jobs, sweep
from shop.mail.models import EmailStatus, QueuedEmail
from shop.mail.queue import MAX_ATTEMPTS, send_queued_email
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_invoice,
    make_shipment,
    make_subscription,
)
from tests.helpers import run_delayed_jobs
from tests.mail.helpers import sent_emails


def queue(customer, template: str, key: str, **ids: int) -> QueuedEmail:  # type: ignore[no-untyped-def]
    """Queue one email the way billing does, committed, without running its job yet."""
    after = AfterCommit()
    after.email(customer, template, key, **ids)
    db.session.commit()
    return after.emails[0]


def queued_payment_failure():  # type: ignore[no-untyped-def]
    """A past-due subscription, its open invoice, and the "payment failed" email queued."""
    customer = make_customer()
    subscription = make_subscription(customer, status=SubscriptionStatus.PAST_DUE)
    invoice = make_invoice(subscription)
    invoice.status = "open"
    db.session.commit()
    email = queue(
        customer,
        "payment_failed",
        invoice.stripe_invoice_id,
        subscription_id=subscription.id,
        invoice_id=invoice.id,
    )
    return customer, subscription, invoice, email


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_email_asked_for_twice_is_queued_and_sent_once(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    first = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    second = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    assert first.id == second.id
    assert send_queued_email(first.id) == "sent"
    assert send_queued_email(first.id) == "not pending"  # a job delivered twice
    assert len(sent_emails(to=customer.email)) == 1


def test_a_confirmation_for_a_subscription_that_has_ended_meanwhile_is_dropped(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    email = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    # A backlog: before the email's turn, the cancellation was applied.
    subscription.status = SubscriptionStatus.CANCELED
    db.session.commit()

    assert send_queued_email(email.id) == "dropped"
    assert sent_emails() == []
    assert db.session.get(QueuedEmail, email.id).status is EmailStatus.DROPPED


def test_a_payment_failure_that_recovered_before_its_email_was_sent_is_not_told(app):
    _, subscription, invoice, email = queued_payment_failure()
    # The retry went through before the email's turn.
    invoice.status = "paid"
    subscription.status = SubscriptionStatus.ACTIVE
    db.session.commit()

    assert send_queued_email(email.id) == "dropped"
    assert sent_emails() == []


def test_a_payment_failure_still_unpaid_is_told(app):
    customer, _, _, email = queued_payment_failure()
    assert send_queued_email(email.id) == "sent"
    (message,) = sent_emails(to=customer.email)
    assert "didn't go through" in message.subject


def test_an_ended_email_is_not_sent_for_a_subscription_that_is_live(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    email = queue(customer, "subscription_ended", "sub_1", subscription_id=subscription.id)
    assert send_queued_email(email.id) == "dropped"


def test_a_shipped_email_for_a_shipment_unmarked_meanwhile_is_dropped(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    box = make_calendar_box(subscription, "2027-01")
    shipment = make_shipment(box, status=ShipmentStatus.SHIPPED)
    email = queue(customer, "box_shipped", str(shipment.id), shipment_id=shipment.id)
    shipment.status = ShipmentStatus.PACKED  # marked shipped by mistake, and put right
    db.session.commit()
    assert send_queued_email(email.id) == "dropped"


def test_a_failing_mail_server_is_retried_with_backoff_until_it_works(app, caplog):
    customer = make_customer()
    subscription = make_subscription(customer)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{closed_port()}"
    caplog.set_level(logging.INFO, logger="shop")

    email = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    assert send_queued_email(email.id) == "retrying"
    db.session.expire_all()
    failed_once = db.session.get(QueuedEmail, email.id)
    assert failed_once.status is EmailStatus.PENDING and failed_once.attempts == 1
    assert failed_once.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert failed_once.last_error.startswith("ConnectionRefusedError")
    assert run_delayed_jobs(app) == 1  # still down: a second try, a longer wait
    second = db.session.get(QueuedEmail, email.id)
    assert second.attempts == 2
    assert second.next_attempt_at > utcnow() + timedelta(seconds=50)

    app.config["MAIL_URL"] = ""  # back (here: the outbox)
    assert run_delayed_jobs(app) == 1
    assert db.session.get(QueuedEmail, email.id).status is EmailStatus.SENT
    assert len(sent_emails(to=customer.email)) == 1
    assert customer.email not in caplog.text  # logs name the email by id, never the address


def test_an_email_the_mail_server_always_refuses_ends_failed_with_its_reason(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{closed_port()}"
    email = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    send_queued_email(email.id)
    for _ in range(MAX_ATTEMPTS):
        run_delayed_jobs(app)
    failed = db.session.get(QueuedEmail, email.id)
    assert failed.status is EmailStatus.FAILED
    assert failed.attempts == MAX_ATTEMPTS
    assert "ConnectionRefusedError" in failed.last_error
    assert run_delayed_jobs(app) == 0


def test_the_sweep_sends_what_the_queue_lost(app, tmp_path):
    """A job that never reached the queue (or a worker killed mid-send): the sweep finds it."""
    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)
    queue_huey = app.extensions["huey"]
    customer = make_customer()
    subscription = make_subscription(customer)
    email = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    queue_huey.flush()  # the queue lost it
    assert sweep() == 0, "not overdue yet"

    email.next_attempt_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert sweep() == 1
    queue_huey.execute(queue_huey.dequeue())
    db.session.expire_all()
    assert db.session.get(QueuedEmail, email.id).status is EmailStatus.SENT


def test_a_dead_workers_claim_is_taken_over_after_the_lease(app):
    customer = make_customer()
    subscription = make_subscription(customer)
    email = queue(customer, "subscription_confirmed", "sub_1", subscription_id=subscription.id)
    email.status = EmailStatus.SENDING  # a worker claimed it, then was killed
    email.claimed_at = utcnow()
    db.session.commit()
    assert send_queued_email(email.id) == "not pending", "a live claim is left alone"

    email.claimed_at = utcnow() - timedelta(seconds=app.config["JOB_LOST_AFTER_SECONDS"] + 1)
    db.session.commit()
    assert sweep() == 1  # immediate mode: the sweep's job sends it at once
    db.session.expire_all()
    assert db.session.get(QueuedEmail, email.id).status is EmailStatus.SENT
    assert db.session.scalar(select(func.count()).select_from(QueuedEmail)) == 1


def test_a_box_shipped_by_mistake_put_back_and_shipped_again_is_emailed_once(app, tmp_path):
    """Marked shipped, put back to packing before the email went (so it was dropped as untrue),
    then shipped for real: the customer hears once, when it is true."""
    from shop.billing.shipping import mark_shipments

    app.config["JOB_QUEUE_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    init_jobs(app)  # a real queue: the email waits for the worker
    queue_huey = app.extensions["huey"]
    customer = make_customer()
    shipment = make_shipment(make_calendar_box(make_subscription(customer), "2027-01"))

    def worker_turn() -> None:
        while (job := queue_huey.dequeue()) is not None:
            queue_huey.execute(job)
        db.session.expire_all()

    assert mark_shipments([shipment.id], ShipmentStatus.SHIPPED).emailed == 1
    mark_shipments([shipment.id], ShipmentStatus.TO_PACK)  # a mistake, put right
    worker_turn()
    assert sent_emails() == []  # dropped: the box was not on its way

    assert mark_shipments([shipment.id], ShipmentStatus.SHIPPED).emailed == 1
    worker_turn()
    assert len(sent_emails(to=customer.email)) == 1
    assert mark_shipments([shipment.id], ShipmentStatus.SHIPPED).emailed == 0  # told already
    worker_turn()
    assert len(sent_emails(to=customer.email)) == 1
