"""Stripe refuses, hangs, answers 500 or 429: pages stay fast, nothing is half-made, and the work
completes once Stripe is back.

The shop runs as in production — gunicorn (gthread, 2 workers), one job worker process, Huey
on PostgreSQL for the queue — with Stripe (the emulator) behind a `FaultProxy`. A customer pays
while Stripe works; then Stripe fails, and the customer's success page, new Subscribe presses and
Stripe's webhooks all arrive during the fault. Bounds on time are generous but still prove the
point: a hang costs a page its STRIPE_PAGE_TIMEOUT_SECONDS (2 s here), not a gunicorn thread for
the jobs' 3 x 2 s of retries; a page that needs no Stripe answers in well under a second.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from flask import g
from sqlalchemy import func, select

from shop.accounts.models import Customer
from shop.billing.gateway import (
    BACKGROUND_NETWORK_RETRIES,
    PaymentProviderError,
    StripeGateway,
    gateway,
)
from shop.billing.models import (
    CalendarBox,
    CheckoutRecord,
    EventOutcome,
    Subscription,
    WebhookEvent,
)
from shop.billing.webhooks import HANDLERS
from shop.mail.models import EmailStatus, QueuedEmail
from tests.conftest import IS_POSTGRES
from tests.faults.proxy import FaultProxy
from tests.faults.shop_stack import (
    ARTICLE_SLUG,
    PAGE_TIMEOUT,
    UNAVAILABLE_TEXT,
    Answer,
    Browser,
    ShopStack,
    poll,
)

postgres_only = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="gunicorn, a worker process and the test share one database: needs PostgreSQL "
    "(TEST_DATABASE_URL=postgresql+psycopg://...)",
)

# Generous, and still an order of magnitude under what a bug costs (a hang held for the jobs'
# 3 x 2 s of retries, a page that waits on Stripe when it needn't).
FAST_SECONDS = 1.0
HANG_MARGIN_SECONDS = 2.0
FREE_PAGES = ("/healthz", "/", f"/blog/{ARTICLE_SLUG}", "/boxes/musclebox")


# -- in process: which gateway a page gets, and which a job gets (SQLite too) --------------------


@pytest.fixture
def app_settings() -> dict[str, object]:
    return {
        "STRIPE_SECRET_KEY": "sk_test_gateway",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "STRIPE_PAGE_TIMEOUT_SECONDS": 2,
        "STRIPE_TIMEOUT_SECONDS": 7,
    }


def _settings(stripe_gateway: StripeGateway) -> tuple[int, object]:
    """(retries, (connect, read) timeout) as the stripe library will use them."""
    requestor = stripe_gateway.client._requestor
    return requestor._options.max_network_retries, requestor._client._timeout


def test_a_page_gets_the_short_timeout_and_no_retry_a_job_the_long_one_with_retries(app):
    with app.test_request_context("/checkout", method="POST"):
        page = gateway()
        assert _settings(page) == (0, (2, 2))
        g.in_job = True
        in_job = gateway()
        assert _settings(in_job) == (BACKGROUND_NETWORK_RETRIES, (3, 7))
    with app.app_context():
        assert gateway() is in_job, "a command (no request) is background work too"


@pytest.fixture
def answering_500() -> Iterator[FaultProxy]:
    # Nothing listens behind it: every request is answered by the proxy itself.
    with FaultProxy("127.0.0.1", 9) as proxy:
        proxy.http_status(500)
        yield proxy


def test_on_a_page_stripe_is_asked_once_in_a_job_three_times(app, answering_500):
    app.config["STRIPE_API_BASE"] = f"http://{answering_500.address}"
    app.extensions.pop("stripe_gateway_page", None)
    app.extensions.pop("stripe_gateway", None)
    with app.test_request_context("/checkout/success"), pytest.raises(PaymentProviderError):
        gateway().retrieve_customer("cus_page")
    assert answering_500.http_answers == 1
    with app.app_context():
        g.in_job = True
        with pytest.raises(PaymentProviderError):
            gateway().retrieve_customer("cus_job")
    assert answering_500.http_answers == 1 + 1 + BACKGROUND_NETWORK_RETRIES


def test_a_page_stops_asking_a_slow_stripe_once_its_time_is_up(app, answering_500):
    """A slow (not dead) Stripe: each call within its timeout, but a page making several would
    add them up. Once STRIPE_PAGE_TIMEOUT_SECONDS have passed since its first call, the page
    asks no more and says "try again"."""
    import time

    app.config["STRIPE_API_BASE"] = f"http://{answering_500.address}"
    app.extensions.pop("stripe_gateway_page", None)
    with app.test_request_context("/checkout/success"):
        g.stripe_page_started = time.monotonic() - app.config["STRIPE_PAGE_TIMEOUT_SECONDS"] - 1
        with pytest.raises(PaymentProviderError, match="slow"):
            gateway().retrieve_customer("cus_page")
    assert answering_500.http_answers == 0, "not asked at all"


# -- the shop under gunicorn, Stripe behind a fault proxy ----------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    if not IS_POSTGRES:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL=postgresql+psycopg://...)")
    with ShopStack(tmp_path_factory.mktemp("stripe-faults"), worker_threads=8) as running:
        yield running


def count(stack: ShopStack, model: type) -> int:
    with stack.db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def unavailable(answer: Answer) -> bool:
    return (
        answer.status == 503
        and answer.headers.get("Retry-After") == "30"
        and UNAVAILABLE_TEXT in answer.text.replace("&#39;", "'")
    )


def events_of(stack: ShopStack, event_ids: list[str]) -> list[WebhookEvent]:
    with stack.db() as session:
        events = session.scalars(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id.in_(event_ids))
        ).all()
        session.expunge_all()
        return list(events)


def free_pages_while(browser: Browser, rounds: int = 2) -> dict[str, float]:
    """The slowest answer of each page that needs no Stripe, over `rounds` rounds."""
    slowest: dict[str, float] = {}
    for _ in range(rounds):
        for path in FREE_PAGES:
            answer = browser.get(path)
            assert answer.status == 200, (path, answer.status)
            slowest[path] = max(slowest.get(path, 0.0), answer.seconds)
    return slowest


@postgres_only
@pytest.mark.parametrize("mode", ["refuse", "hang", "500", "429"])
def test_stripe_failing_keeps_pages_fast_and_the_work_completes_when_it_returns(show, stack, mode):
    stack.stripe_mode("pass")
    buyer = f"bea.{mode}@example.com"
    browser = stack.browser()

    # A customer subscribes and pays while Stripe works; its events are not delivered yet.
    started = browser.post("/checkout", browser.subscribe_form())
    assert started.status == 303, started.text
    session_id = stack.pay(started.headers["Location"], email=buyer)
    before = {
        model: count(stack, model)
        for model in (CheckoutRecord, Customer, Subscription, CalendarBox, QueuedEmail)
    }

    stack.stripe_mode(mode)
    limit = PAGE_TIMEOUT + HANG_MARGIN_SECONDS if mode == "hang" else FAST_SECONDS
    success_path = f"/checkout/success?session_id={session_id}"
    free: dict[str, float] = {}
    in_flight = 0
    if mode == "hang":
        visitors = [stack.browser() for _ in range(3)]
        forms = [visitor.subscribe_form("musclebox", 1) for visitor in visitors]
        with ThreadPoolExecutor(len(visitors)) as pool:
            hung = [
                pool.submit(visitor.post, "/checkout", form)
                for visitor, form in zip(visitors, forms, strict=True)
            ]
            time.sleep(0.3)  # the three presses are waiting on Stripe now
            free = free_pages_while(stack.browser())
            in_flight = sum(not future.done() for future in hung)
            checkouts = [future.result() for future in hung]
    else:
        checkouts = [browser.post("/checkout", browser.subscribe_form("musclebox", 1))]
    success = browser.get(success_path)
    deliveries = stack.deliver_webhooks()

    # Pages: quick "provider unavailable" answers; other pages unaffected.
    assert all(unavailable(answer) for answer in checkouts), [a.status for a in checkouts]
    assert max(answer.seconds for answer in checkouts) < limit
    assert unavailable(success), (success.status, success.text[:300])
    assert success.seconds < limit
    if mode == "hang":
        assert in_flight >= 1, "the other pages were measured while checkouts hung"
        assert max(free.values()) < FAST_SECONDS, free
    # Webhooks: acknowledged at once, without Stripe.
    assert deliveries, "the payment produced events"
    assert all(answer.status == 200 for _, _, answer in deliveries), [
        (kind, answer.status, answer.text) for kind, _, answer in deliveries
    ]
    webhook_slowest = max(answer.seconds for _, _, answer in deliveries)
    assert webhook_slowest < FAST_SECONDS

    # Nothing half-made: no checkout recorded for the failed presses, no customer, subscription,
    # box or email for the paid one.
    assert {model: count(stack, model) for model in before} == before

    # Jobs that need Stripe fail, keep their event queued with the error, and retry.
    event_ids = [event_id for event_id, _, _ in deliveries]
    needs_stripe = {event_id for event_id, kind, _ in deliveries if kind in HANDLERS}
    assert needs_stripe

    def all_retried() -> list[WebhookEvent]:
        events = [e for e in events_of(stack, event_ids) if e.stripe_event_id in needs_stripe]
        return events if all(e.attempts >= 2 and e.error for e in events) else []

    # A hung attempt costs 3 x 2 s of timeouts (the job's retries), then 1 s of backoff; the
    # subscription's other events wait for its lock meanwhile (LOCK_TIMEOUT_SECONDS).
    retry_started = time.monotonic()
    tried = poll(all_retried, timeout=40 if mode == "hang" else 15)
    retry_seconds = time.monotonic() - retry_started
    assert tried, stack.logs()
    assert all(e.outcome is EventOutcome.QUEUED for e in tried), [
        (e.type, e.outcome, e.error) for e in tried
    ]
    attempts = sum(e.attempts for e in tried)
    assert {model: count(stack, model) for model in before} == before

    # Stripe returns: every event is applied, the boxes granted, the confirmation sent.
    stack.stripe_mode("pass")
    recovered_at = time.monotonic()

    def all_done() -> list[WebhookEvent]:
        events = events_of(stack, event_ids)
        finished = (EventOutcome.PROCESSED, EventOutcome.IGNORED, EventOutcome.FAILED)
        return events if all(e.outcome in finished for e in events) else []

    done = poll(all_done, timeout=30)
    assert done, stack.logs()
    processed = [e for e in done if e.stripe_event_id in needs_stripe]
    assert all(e.outcome is EventOutcome.PROCESSED for e in processed), [
        (e.type, e.outcome, e.error) for e in processed
    ]
    with stack.db() as session:
        customer = session.scalar(select(Customer).where(Customer.email == buyer))
        assert customer is not None
        subscription = session.scalar(
            select(Subscription).where(Subscription.customer_id == customer.id)
        )
        assert subscription is not None
        boxes = session.scalar(
            select(func.count())
            .select_from(CalendarBox)
            .where(CalendarBox.subscription_id == subscription.id)
        )
        assert boxes == 3, "a 3-month term paid: three boxes"
        customer_id = customer.id

    def confirmation_sent() -> QueuedEmail | None:
        with stack.db() as session:
            email = session.scalar(
                select(QueuedEmail).where(
                    QueuedEmail.customer_id == customer_id,
                    QueuedEmail.template == "subscription_confirmed",
                    QueuedEmail.status == EmailStatus.SENT,
                )
            )
            session.expunge_all()
            return email

    email = poll(confirmation_sent, timeout=15)
    assert email is not None, stack.logs()
    recovery_seconds = time.monotonic() - recovered_at
    again = browser.get(success_path)
    assert again.status == 200 and "Protein MuscleBox" in again.text.replace("&#39;", "'")
    delivered = [m for m in stack.smtp.messages if m["Message-ID"] == email.message_id]
    assert len(delivered) == 1
    assert delivered[0]["To"] == buyer
    assert count(stack, CheckoutRecord) == before[CheckoutRecord]
    assert count(stack, QueuedEmail) == before[QueuedEmail] + 1, "one email: the confirmation"

    free_text = ", ".join(f"{path} {seconds * 1000:.0f} ms" for path, seconds in free.items())
    show(
        f"\nstripe {mode}: checkout answered {checkouts[0].status} in "
        f"{max(a.seconds for a in checkouts):.2f} s and the success page {success.status} in "
        f"{success.seconds:.2f} s (limit {limit:.0f} s)"
        + (f"; while {in_flight} checkouts hung: {free_text}" if mode == "hang" else "")
        + f"; {len(deliveries)} webhooks 200 in at most {webhook_slowest * 1000:.0f} ms; "
        f"{len(tried)} jobs failed {attempts} attempts in all ({retry_seconds:.0f} s) and "
        f"stayed queued with their error; nothing half-made; "
        f"after Stripe returned: {len(processed)} events processed, "
        f"{sum(e.outcome is EventOutcome.IGNORED for e in done)} ignored, 0 lost, "
        f"{boxes} boxes, 1 confirmation email within {recovery_seconds:.1f} s"
    )


# -- the account's pages that call Stripe: billing portal, changing the address -------------------

ACCOUNT_EMAIL = "ava@example.com"


def csrf_of(page: Answer) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert found, "no CSRF token on the page"
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def account(stack: ShopStack) -> tuple[Browser, int]:
    """A customer with a subscription, signed in through the emailed link."""
    stack.stripe_mode("pass")
    browser = stack.browser()
    started = browser.post("/checkout", browser.subscribe_form("miss-musclebox", 1))
    session_id = stack.pay(started.headers["Location"], email=ACCOUNT_EMAIL)
    assert browser.get(f"/checkout/success?session_id={session_id}").status == 200
    assert browser.post("/account/login", browser.sign_in_form(ACCOUNT_EMAIL)).status == 303

    def link() -> str | None:
        for message in stack.smtp.messages:
            body = message.get_body(("plain",)).get_content()
            found = re.search(r"/account/login/([A-Za-z0-9_-]+)", body)
            if message["To"] == ACCOUNT_EMAIL and found:
                return found.group(1)
        return None

    token = poll(link, timeout=15)
    assert token, stack.logs()
    confirm = browser.get(f"/account/login/{token}")
    assert browser.post(f"/account/login/{token}", {"csrf_token": csrf_of(confirm)}).status == 303
    with stack.db() as session:
        customer = session.scalar(select(Customer).where(Customer.email == ACCOUNT_EMAIL))
        assert customer is not None
        subscription_id = session.scalar(
            select(Subscription.id).where(Subscription.customer_id == customer.id)
        )
    assert subscription_id is not None
    return browser, subscription_id


def addresses(stack: ShopStack, subscription_id: int) -> tuple[str | None, str | None]:
    """(the customer's, the subscription's) first address line."""
    with stack.db() as session:
        subscription = session.get(Subscription, subscription_id)
        assert subscription is not None
        customer = session.get(Customer, subscription.customer_id)
        assert customer is not None
        return customer.shipping_line1, subscription.ship_to_line1


@postgres_only
@pytest.mark.parametrize("mode", ["refuse", "hang", "500", "429"])
def test_account_billing_and_address_fail_fast_and_change_nothing(show, stack, account, mode):
    browser, subscription_id = account
    stack.stripe_mode("pass")
    line1 = f"{len(mode)} {mode.capitalize()} Street"
    address = {
        "csrf_token": csrf_of(browser.get("/account/address")),
        "name": "Ava Buyer",
        "line1": line1,
        "line2": "",
        "city": "Sydney",
        "state": "NSW",
        "postal_code": "2000",
    }
    button = {
        "csrf_token": csrf_of(browser.get("/account/")),
        "subscription_id": str(subscription_id),
    }
    before = addresses(stack, subscription_id)
    assert before[0] != line1

    stack.stripe_mode(mode)
    limit = PAGE_TIMEOUT + HANG_MARGIN_SECONDS if mode == "hang" else FAST_SECONDS
    billing = browser.post("/account/billing", button)
    moved = browser.post("/account/address", address)

    assert billing.status == 503 and UNAVAILABLE_TEXT in billing.text.replace("&#39;", "'")
    assert moved.status == 503 and "nothing was changed" in moved.text
    assert billing.seconds < limit and moved.seconds < limit
    assert addresses(stack, subscription_id) == before, "the shop changed nothing"

    stack.stripe_mode("pass")
    moved_again = browser.post("/account/address", address)
    billing_again = browser.post("/account/billing", button)
    assert moved_again.status == 303, moved_again.text[:500]
    assert addresses(stack, subscription_id) == (line1, line1)
    assert billing_again.status == 303
    assert urlsplit(billing_again.headers["Location"]).hostname == "127.0.0.1"
    show(
        f"\nstripe {mode} on the account: billing portal {billing.status} in "
        f"{billing.seconds:.2f} s, address change {moved.status} in {moved.seconds:.2f} s "
        f"(limit {limit:.0f} s), address unchanged; after Stripe returned: address changed "
        f"({moved_again.status}), portal opened ({billing_again.status})"
    )
