"""Authentication, Stripe-shaped errors, pagination, idempotency and junk input."""

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

from .conftest import make_plan


def test_missing_key_is_401_stripe_shaped(running: RunningEmulator) -> None:
    pages = running.app.test_client()
    response = pages.get("/v1/products")
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "API key" in error["message"]
    assert response.headers["Request-Id"].startswith("req_")


def test_wrong_and_live_keys_are_refused(running: RunningEmulator) -> None:
    bad = stripe.StripeClient("pk_test_nope", base_addresses={"api": running.base_url})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.products.list()
    live = stripe.StripeClient("sk_live_real", base_addresses={"api": running.base_url})
    with pytest.raises(stripe.AuthenticationError) as info:
        live.v1.products.list()
    assert "live" in info.value.user_message


def test_unknown_id_is_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    for call in (
        lambda: stripe_client.v1.products.retrieve("prod_missing"),
        lambda: stripe_client.v1.subscriptions.retrieve("sub_missing"),
        lambda: stripe_client.v1.invoices.retrieve("in_missing"),
        lambda: stripe_client.v1.checkout.sessions.retrieve("cs_test_missing"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as info:
            call()
        assert info.value.http_status == 404
        assert info.value.code == "resource_missing"
        assert info.value.request_id.startswith("req_")


def test_missing_and_unknown_params_are_400(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.products.create(params={})  # type: ignore[typeddict-item]
    assert info.value.http_status == 400
    assert info.value.code == "parameter_missing" and info.value.param == "name"

    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.products.create(params={"name": ""})
    assert info.value.code == "parameter_invalid_empty"

    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.products.create(params={"name": "x", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert info.value.code == "parameter_unknown" and info.value.param == "colour"

    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.prices.create(
            params={"currency": "aud", "unit_amount": "lots", "product_data": {"name": "x"}}
        )  # type: ignore[typeddict-item]
    assert info.value.param == "unit_amount"


def test_unrecognised_url(running: RunningEmulator) -> None:
    response = running.app.test_client().get(
        "/v1/nothing_here", headers={"Authorization": f"Bearer {running.api_key}"}
    )
    assert response.status_code == 404
    assert "Unrecognized request URL" in response.get_json()["error"]["message"]


def test_pagination(stripe_client: stripe.StripeClient) -> None:
    ids = [stripe_client.v1.products.create(params={"name": f"P{i}"}).id for i in range(5)]
    newest_first = list(reversed(ids))
    page = stripe_client.v1.products.list(params={"limit": 2})
    assert [p.id for p in page.data] == newest_first[:2] and page.has_more
    page2 = stripe_client.v1.products.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [p.id for p in page2.data] == newest_first[2:4] and page2.has_more
    back = stripe_client.v1.products.list(params={"limit": 2, "ending_before": page2.data[0].id})
    assert [p.id for p in back.data] == newest_first[:2]
    assert [p.id for p in stripe_client.v1.products.list().auto_paging_iter()] == newest_first
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.products.list(params={"limit": 101})


def test_idempotent_replay_and_mismatch(
    running: RunningEmulator, stripe_client: stripe.StripeClient
) -> None:
    first = stripe_client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "k1"}
    )
    again = stripe_client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "k1"}
    )
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as info:
        stripe_client.v1.customers.create(
            params={"email": "b@example.com"}, options={"idempotency_key": "k1"}
        )
    assert info.value.http_status == 400
    assert info.value.error.type == "idempotency_error"


def test_idempotent_errors_replay_too(stripe_client: stripe.StripeClient) -> None:
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.checkout.sessions.create(
                params={"mode": "payment"}, options={"idempotency_key": "k2"}
            )  # type: ignore[typeddict-item]
        assert info.value.param == "mode"


JUNK = [
    ("post", "/v1/products", "name[]=x&name[a]=b"),
    ("post", "/v1/products", "[]=1"),
    ("post", "/v1/prices", "currency=aud&unit_amount=-5&product_data[name]=x"),
    ("post", "/v1/prices", "currency=aud&unit_amount=5&product_data=x"),
    (
        "post",
        "/v1/prices",
        "currency=aud&unit_amount=5&product_data[name]=x&recurring[interval]=fortnight",
    ),
    ("post", "/v1/checkout/sessions", "mode=subscription&success_url=https://x&line_items=oops"),
    (
        "post",
        "/v1/checkout/sessions",
        "mode=subscription&success_url=https://x&line_items[0][quantity]=1",
    ),
    (
        "post",
        "/v1/checkout/sessions",
        "mode=subscription&success_url=https://x&line_items[0][price][x]=1",
    ),
    ("post", "/v1/customers", "shipping[name]=x"),
    ("post", "/v1/customers", "email=not-an-email"),
    ("post", "/v1/customers", "metadata=%FF%FE"),
    ("post", "/v1/webhook_endpoints", "url=ftp://x&enabled_events[]=*"),
    ("post", "/v1/subscriptions/sub_x", "cancel_at_period_end=maybe"),
    ("get", "/v1/products?limit=abc", ""),
    ("get", "/v1/products?starting_after=prod_nope", ""),
    ("get", "/v1/events?expand[]=nope", ""),
    ("post", "/v1/coupons", "percent_off=abc&duration=once"),
    ("post", "/v1/billing_portal/sessions", "customer=cus_nope"),
]


@pytest.mark.parametrize(("method", "path", "body"), JUNK)
def test_bad_input_never_500(running: RunningEmulator, method: str, path: str, body: str) -> None:
    pages = running.app.test_client()
    response = getattr(pages, method)(
        path,
        data=body,
        headers={
            "Authorization": f"Bearer {running.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.get_json()["error"]["message"]


def test_json_body_is_rejected(running: RunningEmulator) -> None:
    response = running.app.test_client().post(
        "/v1/products", json={"name": "x"}, headers={"Authorization": f"Bearer {running.api_key}"}
    )
    assert response.status_code == 400


def test_inactive_price_cannot_be_sold(stripe_client: stripe.StripeClient) -> None:
    price = make_plan(stripe_client)
    stripe_client.v1.prices.update(price.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "success_url": "https://x",
                "line_items": [{"price": price.id}],
            }
        )
    assert info.value.param == "line_items[0][price]"


def test_failed_request_changes_nothing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.prices.create(
            params={
                "currency": "aud",
                "unit_amount": 100,
                "product_data": {"name": "Half-made"},
                "recurring": {"interval": "fortnight"},
            }
        )
    assert stripe_client.v1.products.list().data == []
    assert stripe_client.v1.events.list().data == []
    customer = stripe_client.v1.customers.create(params={"name": "Before"})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.update(customer.id, params={"name": "After", "email": "broken"})
    assert stripe_client.v1.customers.retrieve(customer.id).name == "Before"


def test_magic_payment_method_ids(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(
        params={"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    pm_id = customer.invoice_settings.default_payment_method
    assert pm_id.startswith("pm_") and pm_id != "pm_card_visa"
    pm = stripe_client.v1.payment_methods.retrieve(pm_id)
    assert isinstance(pm, stripe.PaymentMethod)
    assert pm.card.last4 == "4242" and pm.customer == customer.id


def test_bad_expand_on_create_creates_nothing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.products.create(params={"name": "Box", "expand": ["nonsense"]})
    assert info.value.param == "expand"
    assert stripe_client.v1.products.list().data == []


def test_a_key_is_not_used_up_by_parameters_that_failed_validation(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.products.create(
            params={"name": "Box", "colour": "red"},  # type: ignore[typeddict-unknown-key]
            options={"idempotency_key": "fix-and-retry"},
        )
    product = stripe_client.v1.products.create(
        params={"name": "Box"}, options={"idempotency_key": "fix-and-retry"}
    )
    assert product.name == "Box"
