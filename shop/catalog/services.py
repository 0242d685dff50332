"""Keeping Stripe's catalogue in step with the shop's boxes and plans."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.billing.gateway import StripeGateway
from shop.catalog.models import Box, Plan
from shop.extensions import db

BOX_METADATA_KEY = "shop_box_slug"


def sync_catalogue(gateway: StripeGateway) -> list[str]:
    """Make Stripe's Products and Prices match the shop's boxes and plans. Commits.

    Products are found by metadata (`shop_box_slug`), Prices by the plan's lookup key. A
    changed amount or term creates a new Price that takes the lookup key over, and the old
    Price is archived. Running it again changes nothing. Returns what it did, a line each.
    """
    done: list[str] = []
    boxes = db.session.scalars(
        select(Box).options(selectinload(Box.plans)).order_by(Box.position)
    ).all()

    products = {
        product["metadata"].get(BOX_METADATA_KEY): product
        for product in gateway.list_products()
        if product.get("metadata", {}).get(BOX_METADATA_KEY)
    }
    for box in boxes:
        wanted = {"name": box.name, "description": box.tagline, "active": box.is_active}
        product = products.get(box.slug)
        if product is None:
            product = gateway.create_product(
                name=box.name,
                description=box.tagline,
                metadata={BOX_METADATA_KEY: box.slug},
                idempotency_key=f"catalogue-product-{box.slug}-{box.id}",
            )
            done.append(f"created product {product['id']} for {box.slug}")
            if not box.is_active:
                product = gateway.update_product(product["id"], active=False)
        elif any(product.get(field) != value for field, value in wanted.items()):
            product = gateway.update_product(product["id"], **wanted)
            done.append(f"updated product {product['id']} for {box.slug}")
        box.stripe_product_id = product["id"]

    plans = [plan for box in boxes for plan in box.plans]
    prices = gateway.prices_by_lookup_key(plan.lookup_key for plan in plans)
    for plan in plans:
        price = prices.get(plan.lookup_key)
        product_id = plan.box.stripe_product_id
        assert product_id is not None
        if price is not None and _price_matches(price, plan, product_id):
            if not plan.is_active and price["active"]:
                gateway.archive_price(price["id"])
                done.append(f"archived price {price['id']} ({plan.lookup_key}: plan retired)")
            plan.stripe_price_id = price["id"]
            continue
        if not plan.is_active:
            plan.stripe_price_id = price["id"] if price else None
            continue
        new_price = gateway.create_price(
            product_id=product_id,
            unit_amount=plan.price_cents,
            currency=plan.currency,
            interval_months=plan.term_months,
            lookup_key=plan.lookup_key,
            metadata={"shop_plan_lookup_key": plan.lookup_key},
            idempotency_key=(
                f"catalogue-price-{plan.lookup_key}-{plan.price_cents}-{plan.currency}"
                f"-{plan.term_months}-{product_id}-replacing-{price['id'] if price else 'none'}"
            ),
        )
        done.append(
            f"created price {new_price['id']} for {plan.lookup_key} "
            f"({plan.price_cents} {plan.currency.upper()} every {plan.term_months} months)"
        )
        if price is not None:
            gateway.archive_price(price["id"])
            done.append(f"archived price {price['id']} (replaced for {plan.lookup_key})")
        plan.stripe_price_id = new_price["id"]
    db.session.commit()
    return done


def _price_matches(price: dict, plan: Plan, product_id: str) -> bool:  # type: ignore[type-arg]
    recurring = price.get("recurring") or {}
    return (
        price.get("unit_amount") == plan.price_cents
        and price.get("currency") == plan.currency
        and price.get("product") == product_id
        and recurring.get("interval") == "month"
        and recurring.get("interval_count") == plan.term_months
        and (price.get("active") or not plan.is_active)
    )
