"""`flask reconcile`: repair what missed webhooks left behind."""

from __future__ import annotations

from sqlalchemy import func, select

from shop.billing.models import Subscription, SubscriptionStatus
from shop.extensions import db
from tests.billing.conftest import buy, deliver


def test_reconcile_repairs_differences_and_prints_them(
    app, client, pages, runner, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)
    deliver(stripe_emulator, client)
    subscription = db.session.scalar(select(Subscription))
    # A missed webhook: Stripe says it cancels at period end, the shop never heard.
    stripe_emulator.client().v1.subscriptions.update(
        subscription.stripe_subscription_id, params={"cancel_at_period_end": True}
    )
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert (
        f"{subscription.stripe_subscription_id} cancel_at_period_end: shop had False, Stripe has True"
        in result.output
    )
    assert db.session.get(Subscription, subscription.id).cancel_at_period_end is True

    again = runner.invoke(args=["reconcile"])
    assert "All in step." in again.output


def test_reconcile_creates_subscriptions_the_shop_never_heard_of(
    app, client, pages, runner, stripe_emulator, catalogue
):
    buy(client, pages, stripe_emulator)  # paid, but no webhook is delivered
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "missing: shop had None, Stripe has 'active'" in result.output
    subscription = db.session.scalar(select(Subscription))
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.customer.email == "bea@example.com"
    assert db.session.scalar(select(func.count(Subscription.id))) == 1


def test_reconcile_reports_stripe_being_down(app, runner, stripe_emulator):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_gateway", None)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code != 0 and "Stripe:" in result.output
