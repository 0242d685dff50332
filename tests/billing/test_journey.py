"""The whole journey, through the real stripe library against the emulator.

Sync the catalogue, pick a box, pay on the hosted page, webhooks delivered and verified, the
account page reached through the emailed link, the billing portal, renewals as the clock moves,
and a card that starts failing.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from shop.billing.models import CalendarBox, Subscription, SubscriptionStatus
from shop.demo import seed_demo
from shop.extensions import db
from tests.accounts.conftest import emailed_link_path, request_link
from tests.billing.conftest import LATER_FAILS_CARD, buy, deliver, hosted_path
from tests.helpers import csrf_token, visible_text
from tests.mail.helpers import sent_emails


def _sign_in_by_email(client, email: str) -> None:  # type: ignore[no-untyped-def]
    assert request_link(client, email).status_code == 303
    path = emailed_link_path(email)
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303


def _subscription() -> Subscription:
    subscription = db.session.scalar(select(Subscription))
    assert subscription is not None
    return subscription


def _boxes() -> int:
    return db.session.scalar(select(func.count(CalendarBox.id))) or 0


def test_buy_renew_manage_and_cancel(app, client, pages, runner, stripe_emulator):
    seed_demo()
    synced = runner.invoke(args=["sync-stripe"])
    assert synced.exit_code == 0 and "created price" in synced.output

    # Pick a box and pay on Stripe's page; the webhooks arrive signed and are applied.
    success = buy(client, pages, stripe_emulator, "miss-musclebox", 1)
    deliveries = deliver(stripe_emulator, client)
    assert deliveries and all(status == 200 for _, status in deliveries), deliveries
    assert "Welcome to Miss MuscleBox" in visible_text(client.get(success))
    subscription = _subscription()
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert _boxes() == 1
    assert (subscription.ship_to_line1, subscription.ship_to_city) == ("1 George St", "Sydney")
    assert any(
        "Miss MuscleBox" in m.subject + m.text_body for m in sent_emails(to="bea@example.com")
    )

    # Sign in with the emailed link and see the subscription.
    browser = app.test_client()
    _sign_in_by_email(browser, "bea@example.com")
    account = visible_text(browser.get("/account/"))
    assert "Miss MuscleBox" in account and "Active — renews" in account
    assert "1 George St" in account

    # A month on, Stripe renews it: a second invoice, a second box on the calendar.
    stripe_emulator.advance(days=32)
    deliver(stripe_emulator, client)
    assert _boxes() == 2
    assert _subscription().status is SubscriptionStatus.ACTIVE

    # Manage billing: the portal opens, cancel at the end of the period, come back.
    portal = browser.post("/account/billing", data={"csrf_token": csrf_token(browser, "/account/")})
    assert portal.status_code == 303
    portal_path = hosted_path(portal.headers["Location"], stripe_emulator)
    portal_page = pages.get(portal_path).get_data(as_text=True)
    cancel_action = re.search(r'action="([^"]+/cancel)"', portal_page)
    assert cancel_action, portal_page
    assert pages.post(cancel_action.group(1), data={"when": "period_end"}).status_code in (
        200,
        302,
        303,
    )
    deliver(stripe_emulator, client)
    assert _subscription().cancel_at_period_end is True
    assert "Cancels on" in visible_text(browser.get("/account/"))

    # At the period's end it ends; the customer is told, and no new box is made.
    stripe_emulator.advance(days=32)
    deliver(stripe_emulator, client)
    assert _subscription().status is SubscriptionStatus.CANCELED
    assert _boxes() == 2
    assert "Cancelled" in visible_text(browser.get("/account/"))
    subjects = [m.subject.lower() for m in sent_emails(to="bea@example.com")]
    assert any("ended" in s or "cancel" in s for s in subjects), subjects


def test_failing_card_goes_past_due_tells_the_customer_then_cancels(
    app, client, pages, runner, stripe_emulator
):
    seed_demo()
    runner.invoke(args=["sync-stripe"])
    buy(client, pages, stripe_emulator, "musclebox", 1, card=LATER_FAILS_CARD)
    deliver(stripe_emulator, client)
    assert _subscription().status is SubscriptionStatus.ACTIVE
    assert _boxes() == 1

    stripe_emulator.advance(days=32)
    deliver(stripe_emulator, client)
    assert _subscription().status is SubscriptionStatus.PAST_DUE
    assert _boxes() == 1, "an unpaid period ships nothing"
    failed = [m for m in sent_emails(to="bea@example.com") if "payment" in m.subject.lower()]
    assert len(failed) == 1
    assert "http://shop.test/account/" in failed[0].text_body

    browser = app.test_client()
    _sign_in_by_email(browser, "bea@example.com")
    assert "Payment failed — update your card" in visible_text(browser.get("/account/"))

    # Stripe retries on its schedule; the last failure cancels the subscription.
    for _ in range(4):
        stripe_emulator.advance(days=8)
        deliver(stripe_emulator, client)
    assert _subscription().status is SubscriptionStatus.CANCELED
    assert _boxes() == 1
    failed_again = [m for m in sent_emails(to="bea@example.com") if "payment" in m.subject.lower()]
    assert len(failed_again) == 1, "one payment-failed email per invoice, not one per retry"
    assert "Cancelled" in visible_text(browser.get("/account/"))
