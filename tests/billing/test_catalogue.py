"""Box pages with their plans, and `flask sync-stripe` against the emulator."""

from __future__ import annotations

from sqlalchemy import select

from shop.catalog.models import Box, Plan
from shop.demo import seed_demo
from shop.extensions import db
from tests.helpers import text_of, visible_text


def _stripe(stripe_emulator):  # type: ignore[no-untyped-def]
    return stripe_emulator.client()


def test_sync_creates_products_and_prices_then_changes_nothing(app, runner, stripe_emulator):
    seed_demo()
    result = runner.invoke(args=["sync-stripe"])
    assert result.exit_code == 0, result.output
    assert result.output.count("created product") == 3
    assert result.output.count("created price") == 12

    stripe = _stripe(stripe_emulator)
    products = stripe.v1.products.list(params={"limit": 100}).data
    assert sorted(p.metadata["shop_box_slug"] for p in products) == [
        "miss-musclebox",
        "musclebox",
        "protein-musclebox",
    ]
    price = stripe.v1.prices.list(params={"lookup_keys": ["protein-musclebox-3m"]}).data[0]
    assert (price.unit_amount, price.currency) == (15495, "aud")
    assert (price.recurring.interval, price.recurring.interval_count) == ("month", 3)
    plan = db.session.scalar(select(Plan).where(Plan.lookup_key == "protein-musclebox-3m"))
    assert plan.stripe_price_id == price.id
    assert plan.box.stripe_product_id == price.product

    again = runner.invoke(args=["sync-stripe"])
    assert again.exit_code == 0
    assert "nothing changed" in again.output
    assert len(stripe.v1.prices.list(params={"limit": 100}).data) == 12


def test_changed_amount_creates_new_price_moves_key_archives_old(app, runner, stripe_emulator):
    seed_demo()
    runner.invoke(args=["sync-stripe"])
    plan = db.session.scalar(select(Plan).where(Plan.lookup_key == "musclebox-1m"))
    old_price_id = plan.stripe_price_id
    plan.price_cents = 5295
    db.session.commit()

    result = runner.invoke(args=["sync-stripe"])
    assert result.exit_code == 0, result.output
    assert "created price" in result.output and f"archived price {old_price_id}" in result.output
    stripe = _stripe(stripe_emulator)
    current = stripe.v1.prices.list(params={"lookup_keys": ["musclebox-1m"]}).data
    assert len(current) == 1 and current[0].unit_amount == 5295 and current[0].id != old_price_id
    old = stripe.v1.prices.retrieve(old_price_id)
    assert old.active is False and old.lookup_key is None
    assert (
        db.session.scalar(select(Plan.stripe_price_id).where(Plan.id == plan.id)) == current[0].id
    )
    assert "nothing changed" in runner.invoke(args=["sync-stripe"]).output


def test_renamed_and_retired_boxes_are_updated(app, runner, stripe_emulator):
    seed_demo()
    runner.invoke(args=["sync-stripe"])
    box = db.session.scalar(select(Box).where(Box.slug == "miss-musclebox"))
    box.name = "Miss MuscleBox Deluxe"
    retired = db.session.scalar(select(Plan).where(Plan.lookup_key == "musclebox-12m"))
    retired.is_active = False
    db.session.commit()
    result = runner.invoke(args=["sync-stripe"])
    assert "updated product" in result.output and "plan retired" in result.output
    stripe = _stripe(stripe_emulator)
    assert stripe.v1.products.retrieve(box.stripe_product_id).name == "Miss MuscleBox Deluxe"
    assert stripe.v1.prices.retrieve(retired.stripe_price_id).active is False


def test_sync_reports_stripe_errors_cleanly(app, runner, stripe_emulator):
    seed_demo()
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    app.extensions.pop("stripe_gateway", None)
    result = runner.invoke(args=["sync-stripe"])
    assert result.exit_code != 0
    assert "Stripe:" in result.output


def test_box_page_shows_each_term_price_per_month_and_saving(app, client):
    seed_demo()
    response = client.get("/boxes/musclebox")
    assert response.status_code == 200
    text = visible_text(response)
    assert "Monthly $49.95 AUD a month" in text
    assert (
        "Every 3 months $139.95 AUD every 3 months $46.65 AUD a month Save $9.90 AUD on paying monthly"
        in text
    )
    assert "Every 12 months $499.95 AUD every 12 months $41.66 AUD a month Save $99.45 AUD" in text
    assert text_of(response).count(">Subscribe</button>") == 4


def test_boxes_index_and_unknown_or_inactive_boxes(app, client):
    seed_demo()
    assert "Protein MuscleBox" in text_of(client.get("/boxes/"))
    assert client.get("/boxes/no-such-box").status_code == 404
    box = db.session.scalar(select(Box).where(Box.slug == "protein-musclebox"))
    box.is_active = False
    db.session.commit()
    assert client.get("/boxes/protein-musclebox").status_code == 404
