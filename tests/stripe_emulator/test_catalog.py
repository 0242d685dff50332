"""Products, prices, customers, coupons and promotion codes through the real stripe library."""

import pytest
import stripe

from .conftest import make_plan


def test_product_create_retrieve_update_list(stripe_client: stripe.StripeClient) -> None:
    product = stripe_client.v1.products.create(
        params={"name": "Protein Box", "metadata": {"box_id": "7"}}
    )
    assert isinstance(product, stripe.Product)
    assert product.id.startswith("prod_")
    assert product.object == "product" and product.livemode is False and product.active is True
    assert product.metadata["box_id"] == "7"

    updated = stripe_client.v1.products.update(
        product.id, params={"name": "Protein Box XL", "metadata": {"box_id": "", "size": "xl"}}
    )
    assert updated.name == "Protein Box XL"
    assert updated.metadata.to_dict() == {"size": "xl"}
    assert stripe_client.v1.products.retrieve(product.id).name == "Protein Box XL"

    other = stripe_client.v1.products.create(params={"name": "Vegan Box", "active": False})
    listed = stripe_client.v1.products.list(params={"ids": [product.id, other.id]})
    assert [p.id for p in listed.data] == [other.id, product.id]
    assert [p.id for p in stripe_client.v1.products.list(params={"active": True}).data] == [
        product.id
    ]


def test_product_default_price(stripe_client: stripe.StripeClient) -> None:
    product = stripe_client.v1.products.create(
        params={
            "name": "Box",
            "default_price_data": {
                "currency": "aud",
                "unit_amount": 3900,
                "recurring": {"interval": "month"},
            },
        }
    )
    price = stripe_client.v1.prices.retrieve(product.default_price)
    assert price.product == product.id and price.unit_amount == 3900
    expanded = stripe_client.v1.products.retrieve(product.id, params={"expand": ["default_price"]})
    assert isinstance(expanded.default_price, stripe.Price)


def test_price_fields_and_expand_product(stripe_client: stripe.StripeClient) -> None:
    price = make_plan(stripe_client, amount=11700, count=3, lookup_key="protein_quarterly")
    assert isinstance(price, stripe.Price)
    assert price.type == "recurring"
    assert price.recurring.interval == "month" and price.recurring.interval_count == 3
    assert price.currency == "aud" and price.unit_amount == 11700
    assert price.lookup_key == "protein_quarterly"

    listed = stripe_client.v1.prices.list(
        params={"lookup_keys": ["protein_quarterly"], "expand": ["data.product"]}
    )
    assert len(listed.data) == 1
    assert isinstance(listed.data[0].product, stripe.Product)
    assert listed.data[0].product.name == "Protein Box"
    retrieved = stripe_client.v1.prices.retrieve(price.id, params={"expand": ["product"]})
    assert retrieved.product.id == price.product


def test_lookup_key_is_unique_unless_transferred(stripe_client: stripe.StripeClient) -> None:
    old = make_plan(stripe_client, lookup_key="monthly")
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_plan(stripe_client, lookup_key="monthly", product=old.product)
    assert info.value.http_status == 400
    assert info.value.param == "lookup_key"

    new = stripe_client.v1.prices.create(
        params={
            "product": old.product,
            "currency": "aud",
            "unit_amount": 5000,
            "recurring": {"interval": "month"},
            "lookup_key": "monthly",
            "transfer_lookup_key": True,
        }
    )
    assert new.lookup_key == "monthly"
    assert stripe_client.v1.prices.retrieve(old.id).lookup_key is None
    assert [
        p.id for p in stripe_client.v1.prices.list(params={"lookup_keys": ["monthly"]}).data
    ] == [new.id]


def test_price_update_and_filters(stripe_client: stripe.StripeClient) -> None:
    first = make_plan(stripe_client)
    second = make_plan(stripe_client, product=first.product, amount=9000, count=2)
    stripe_client.v1.prices.update(
        first.id, params={"active": False, "metadata": {"retired": "yes"}}
    )
    active = stripe_client.v1.prices.list(params={"product": first.product, "active": True})
    assert [p.id for p in active.data] == [second.id]
    everything = stripe_client.v1.prices.list(params={"product": first.product})
    assert {p.id for p in everything.data} == {first.id, second.id}


def test_customer_lifecycle_and_updated_event(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(
        params={"email": "jo@example.com", "name": "Jo", "metadata": {"user_id": "5"}}
    )
    assert isinstance(customer, stripe.Customer)
    assert customer.id.startswith("cus_")
    updated = stripe_client.v1.customers.update(
        customer.id,
        params={
            "name": "Jo Citizen",
            "shipping": {
                "name": "Jo Citizen",
                "address": {
                    "line1": "1 George St",
                    "city": "Sydney",
                    "postal_code": "2000",
                    "country": "AU",
                },
            },
        },
    )
    assert updated.shipping.address.city == "Sydney"
    assert updated.shipping.name == "Jo Citizen"
    event = stripe_client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.object.id == customer.id
    assert event.data.previous_attributes["name"] == "Jo"
    assert event.data.previous_attributes["shipping"] is None

    stripe_client.v1.customers.create(params={"email": "other@example.com"})
    found = stripe_client.v1.customers.list(params={"email": "jo@example.com"})
    assert [c.id for c in found.data] == [customer.id]


def test_coupon_and_promotion_code(stripe_client: stripe.StripeClient) -> None:
    coupon = stripe_client.v1.coupons.create(
        params={
            "percent_off": 25,
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "Quarter off",
        }
    )
    assert isinstance(coupon, stripe.Coupon)
    assert coupon.percent_off == 25 and coupon.duration_in_months == 3 and coupon.valid
    fixed = stripe_client.v1.coupons.create(
        params={"id": "TENOFF", "amount_off": 1000, "currency": "aud", "duration": "once"}
    )
    assert fixed.id == "TENOFF"
    promo = stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "WELCOME25"}
    )
    assert isinstance(promo, stripe.PromotionCode)
    assert promo.id.startswith("promo_")
    assert promo.promotion.coupon == coupon.id and promo.promotion.type == "coupon"
    expanded = stripe_client.v1.promotion_codes.retrieve(
        promo.id, params={"expand": ["promotion.coupon"]}
    )
    assert expanded.promotion.coupon.percent_off == 25
    assert (
        stripe_client.v1.promotion_codes.list(params={"code": "WELCOME25"}).data[0].id == promo.id
    )
    off = stripe_client.v1.promotion_codes.update(promo.id, params={"active": False})
    assert off.active is False

    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.coupons.create(params={"duration": "once"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.coupons.create(params={"percent_off": 10, "duration": "repeating"})
    assert info.value.param == "duration_in_months"
