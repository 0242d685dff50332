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


def test_reconcile_says_what_it_repaired_what_it_skipped_and_what_failed(
    app, client, pages, runner, stripe_emulator, catalogue, monkeypatch
):
    from shop.billing.gateway import PaymentProviderError, StripeGateway

    buy(client, pages, stripe_emulator, "musclebox", 1)  # never delivered: missing in the shop
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 3, email="zed@example.com")
    stripe = stripe_emulator.client()
    foreign = stripe.v1.prices.create(
        params={
            "currency": "aud",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Not a box"},
        }
    )
    towel = stripe.v1.customers.create(params={"email": "towel@example.com"})
    other = stripe.v1.subscriptions.create(
        params={
            "customer": towel.id,
            "items": [{"price": foreign.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    real_paid_invoices = StripeGateway.paid_invoices
    zed = next(
        s.id
        for s in stripe.v1.subscriptions.list(params={"status": "all"}).auto_paging_iter()
        if s.id != other.id and s["items"].data[0].price.recurring.interval_count == 3
    )

    def flaky(self, subscription_id):  # type: ignore[no-untyped-def]
        if subscription_id == zed:
            raise PaymentProviderError("Our payment provider is not answering.")
        return real_paid_invoices(self, subscription_id)

    monkeypatch.setattr(StripeGateway, "paid_invoices", flaky)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 1, result.output
    assert f"{zed} FAILED, not repaired: Our payment provider is not answering." in result.output
    assert f"{other.id} skipped: price {foreign.id} is not one of the shop's plans" in result.output
    assert "missing: shop had None, Stripe has 'active'" in result.output
    assert "boxes granted for in_" in result.output
    assert "1 subscription(s) failed" in result.output
    stored = db.session.scalars(select(Subscription.stripe_subscription_id)).all()
    assert zed not in stored and other.id not in stored and len(stored) == 1


def test_an_unexpected_error_on_one_subscription_is_reported_and_the_rest_repaired(
    app, client, pages, runner, stripe_emulator, catalogue, monkeypatch
):
    from shop.billing import reconcile

    buy(client, pages, stripe_emulator, "musclebox", 1)
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 3, email="zed@example.com")
    real = reconcile.apply_subscription
    calls: list[str] = []

    def first_one_breaks(data, local, after):  # type: ignore[no-untyped-def]
        calls.append(data["id"])
        if len(calls) == 1:
            raise KeyError("surprise")
        return real(data, local, after)

    monkeypatch.setattr(reconcile, "apply_subscription", first_one_breaks)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 1
    assert f"{calls[0]} FAILED, not repaired: KeyError: 'surprise'" in result.output
    stored = db.session.scalars(select(Subscription.stripe_subscription_id)).all()
    assert stored == [calls[1]]
