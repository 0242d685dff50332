"""Small helpers for driving pages the way a browser does."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, update

from shop.extensions import db

if TYPE_CHECKING:
    from shop.stripe_emulator.testing import RunningEmulator

WEBHOOK_SECRET = "whsec_shop_test_suite_secret"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STAMP = re.compile(r'name="rendered_at"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """GET a page and return the CSRF token from its form."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no csrf_token on {path}"
    return html.unescape(match.group(1))


def comment_form(client: FlaskClient, slug: str, **fields: str) -> dict[str, str]:
    """The comment form of an article as a browser would submit it, with `fields` filled in."""
    page = client.get(f"/blog/{slug}").get_data(as_text=True)
    token = _CSRF.search(page)
    stamp = _STAMP.search(page)
    assert token and stamp, "the article page has no comment form"
    data = {
        "csrf_token": html.unescape(token.group(1)),
        "rendered_at": html.unescape(stamp.group(1)),
        "comment": "Great tips, thanks!",
        "author": "Sam Reader",
        "email": "sam@example.com",
        "url": "",
        "mb_trap": "",
    }
    data.update(fields)
    return data


def post_comment(client: FlaskClient, slug: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/blog/{slug}/comments", data=comment_form(client, slug, **fields))


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements `engine` sends inside the block, in order (an executemany counts
    once), for query budgets: a page runs a fixed number of statements whatever the data size."""
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_of_get(client: FlaskClient, path: str) -> list[str]:
    """The SQL statements one GET of `path` runs (it must answer 200)."""
    with count_statements(db.engine) as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return statements


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The response body with HTML entities decoded, for asserting on visible text."""
    return html.unescape(response.get_data(as_text=True))


def visible_text(response) -> str:  # type: ignore[no-untyped-def]
    """What a reader sees: tags removed, entities decoded, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).replace(" *", " *")


def run_delayed_jobs(app: Flask) -> int:
    """Run every delayed job (a retry after backoff) now, as if its time had come, and expire
    the test's session so it reads what the jobs wrote. Returns how many ran.

    Tests queue jobs in immediate mode: a job runs when it is enqueued, a delayed one waits here.
    Its row's due time is moved to now too, as the clock would have moved.
    """
    from shop.billing.models import EventOutcome, WebhookEvent
    from shop.db import utcnow
    from shop.mail.models import EmailStatus, QueuedEmail

    with app.app_context():
        now = utcnow()
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.outcome == EventOutcome.QUEUED, WebhookEvent.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        db.session.execute(
            update(QueuedEmail)
            .where(QueuedEmail.status == EmailStatus.PENDING, QueuedEmail.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        db.session.commit()
    queue = app.extensions["huey"]
    ran = 0
    for task in queue.read_schedule(datetime.max):
        task.eta = None  # due now
        queue.execute(task)
        ran += 1
    if has_app_context():
        db.session.expire_all()
    return ran


def shop_on_emulator(
    stripe_emulator: RunningEmulator, *, webhook: bool = True, **extra: object
) -> dict[str, object]:
    """App settings that point the shop's Stripe at the emulator; with `webhook`, the emulator
    also delivers to the shop's webhook, signed with WEBHOOK_SECRET. `extra` settings are added."""
    settings: dict[str, object] = {
        "STRIPE_SECRET_KEY": stripe_emulator.api_key,
        "STRIPE_API_BASE": stripe_emulator.base_url,
    }
    if webhook:
        stripe_emulator.emulator.ensure_webhook_endpoint(
            "http://shop.test/webhooks/stripe", secret=WEBHOOK_SECRET
        )
        settings["STRIPE_WEBHOOK_SECRET"] = (WEBHOOK_SECRET,)
    return settings | extra
