"""Every route of the shop against the hostile corpus: a clear 4xx, never a 5xx, nothing stored.

Anonymous requests to the admin area or the account may instead be sent to its sign-in page
(the guard's answer, before any input is read). Correctly signed Stripe events about objects
Stripe does not have are valid by design: they are recorded once each as ignored, with a 2xx.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from shop.billing.models import EventOutcome, WebhookEvent
from shop.extensions import db
from tests.hostile.conftest import WEBHOOK_SECRET
from tests.hostile.corpus import (
    WEBHOOK,
    Hostile,
    build_corpus,
    signed_webhooks,
    uncovered_endpoints,
)
from tests.hostile.snapshot import explains, row_counts, summary


def _outcome(hostile: Hostile, response: Any) -> tuple[str, str | None]:
    """The outcome's name for the count, and what is wrong with it (None: a fine refusal)."""
    status = response.status_code
    location = urlsplit(response.headers.get("Location", "")).path
    if hostile.may_redirect_to and status in (302, 303) and location == hostile.may_redirect_to:
        return f"{status} to sign-in", None
    if not 400 <= status < 500:
        return str(status), f"{status} {hostile.label}"
    if not explains(response):
        return str(status), f"{status} without a message: {hostile.label}"
    return str(status), None


def test_hostile_corpus_gets_clear_4xx_and_stores_nothing(app: Flask, clients, targets, capsys):  # type: ignore[no-untyped-def]
    whole = build_corpus(app, targets)
    assert not uncovered_endpoints(app, whole), "routes the corpus does not reach"
    corpus = whole
    assert len(corpus) >= 300
    before = row_counts()

    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    for hostile in corpus:
        outcome, failure = _outcome(hostile, hostile.send(clients[hostile.who]))
        outcomes[outcome] += 1
        if failure:
            failures.append(failure)

    after = row_counts()
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    server_errors = sum(count for outcome, count in outcomes.items() if outcome.startswith("5"))
    line = summary(len(corpus), outcomes, server_errors, not changed)
    with capsys.disabled():
        print(f"\n{line}")
    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} in all)\n{line}"
    assert not changed, f"rows changed (before, after): {changed}"


def _deliver_signed(client) -> tuple[set[str], Counter[str], list[str]]:  # type: ignore[no-untyped-def]
    accepted: set[str] = set()
    outcomes: Counter[str] = Counter()
    failures = []
    for label, event_id, body, headers in signed_webhooks(WEBHOOK_SECRET):
        response = client.post(WEBHOOK, data=body, headers=headers, content_type="application/json")
        outcomes[str(response.status_code)] += 1
        if 200 <= response.status_code < 300:
            accepted.add(event_id)
        elif not 400 <= response.status_code < 500:
            failures.append(f"{response.status_code} {label}")
    return accepted, outcomes, failures


def _recorded_once_as_ignored(accepted: set[str], before: dict[str, int]) -> None:
    stored = db.session.scalars(select(WebhookEvent)).all()
    assert sorted(event.stripe_event_id for event in stored) == sorted(accepted)
    not_ignored = [
        (event.stripe_event_id[:40], event.type, event.outcome)
        for event in stored
        if event.outcome is not EventOutcome.IGNORED
    ]
    assert not not_ignored
    after = row_counts()
    assert after.pop("webhook_events") == before.pop("webhook_events") + len(accepted)
    assert after == before


def test_signed_events_about_unknown_objects_are_recorded_once_as_ignored(
    app: Flask, client, capsys
):  # type: ignore[no-untyped-def]
    before = row_counts()
    accepted, outcomes, failures = _deliver_signed(client)
    with capsys.disabled():
        print(f"\nsigned events about unknown objects or with odd ids: {dict(outcomes)}")
    assert not failures, "\n".join(failures)
    # The replayed event: its second delivery is answered 2xx and recorded no second time.
    assert "evt_replayed" in accepted
    _recorded_once_as_ignored(accepted, before)
