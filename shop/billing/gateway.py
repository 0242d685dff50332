"""The one place the shop talks to Stripe (or a Stripe-compatible server such as the emulator).

Everything goes through one `stripe.StripeClient` and its `client.v1.*` services. Objects come
back as plain dicts (the same shape as webhook payloads), and every Stripe error becomes a
`PaymentProviderError` carrying Stripe's request id, so callers never import `stripe`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import stripe
from flask import current_app, g, has_request_context

logger = logging.getLogger(__name__)

API_VERSION = stripe.api_version
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 8
# Jobs retry a failed call twice (the library backs off between tries, and reuses the
# idempotency key); pages never retry: a customer is waiting and "try again" is theirs to press.
BACKGROUND_NETWORK_RETRIES = 2
# Signatures older than this are refused (replays); Stripe's own default.
WEBHOOK_TOLERANCE_SECONDS = 300


class PaymentProviderError(Exception):
    """Stripe could not be reached, timed out or refused the request."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.code = code
        self.http_status = http_status


class NotFoundAtProvider(PaymentProviderError):
    """Stripe has no object with that id."""


class WebhookSignatureError(Exception):
    """A webhook body that is unsigned, wrongly signed, stale or not an event."""


def _as_dict(obj: Any) -> dict[str, Any]:
    """A plain, JSON-ready dict (decimal fields become strings, as in webhook payloads)."""
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    """Stripe calls the shop makes, with timeouts, retries and the shop's own errors."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        network_retries: int = BACKGROUND_NETWORK_RETRIES,
        page_budget: float | None = None,
    ) -> None:
        self.api_key = api_key
        options: dict[str, Any] = {}
        if api_base:
            options["base_addresses"] = {
                "api": api_base,
                "connect": api_base,
                "files": api_base,
                "meter_events": api_base,
            }
        self.client = stripe.StripeClient(
            api_key or "sk_test_unconfigured",
            max_network_retries=network_retries,
            http_client=stripe.RequestsClient(
                timeout=(min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout)
            ),
            **options,
        )
        self.configured = bool(api_key)
        # On a page: Stripe calls start only within this many seconds of the page's first one,
        # so a slow (not dead) Stripe costs a page at most about twice its timeout in all.
        self.page_budget = page_budget

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.configured:
            raise PaymentProviderError("Payments are not configured (STRIPE_SECRET_KEY is unset).")
        if self.page_budget is not None and has_request_context():
            started = g.setdefault("stripe_page_started", time.monotonic())
            if time.monotonic() - started > self.page_budget:
                logger.warning("stripe %s not tried: the page has waited long enough", what)
                raise PaymentProviderError("Our payment provider is slow right now.")
        try:
            return function(*args, **kwargs)
        except stripe.InvalidRequestError as exc:
            logger.warning("stripe %s failed: %s (request %s)", what, exc.code, exc.request_id)
            error_class = (
                NotFoundAtProvider if exc.code == "resource_missing" else PaymentProviderError
            )
            raise error_class(
                exc.user_message or "Stripe refused the request.",
                request_id=exc.request_id,
                code=exc.code,
                http_status=exc.http_status,
            ) from exc
        except stripe.StripeError as exc:
            logger.error(
                "stripe %s failed: %s %s (request %s)",
                what,
                type(exc).__name__,
                exc.http_status,
                exc.request_id,
            )
            raise PaymentProviderError(
                exc.user_message or "Our payment provider is not answering.",
                request_id=exc.request_id,
                code=getattr(exc, "code", None),
                http_status=exc.http_status,
            ) from exc

    # -- catalogue ---------------------------------------------------------------------------

    def list_products(self) -> Iterator[dict[str, Any]]:
        listing = self._call("list products", self.client.v1.products.list, params={"limit": 100})
        for product in listing.auto_paging_iter():
            yield _as_dict(product)

    def create_product(
        self, *, name: str, description: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict[str, Any]:
        product = self._call(
            "create product",
            self.client.v1.products.create,
            params={"name": name, "description": description, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return _as_dict(product)

    def update_product(self, product_id: str, **fields: Any) -> dict[str, Any]:
        return _as_dict(
            self._call("update product", self.client.v1.products.update, product_id, params=fields)
        )

    def prices_by_lookup_key(self, lookup_keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(lookup_keys)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 10):
            listing = self._call(
                "list prices",
                self.client.v1.prices.list,
                params={"lookup_keys": keys[start : start + 10], "limit": 100},
            )
            for price in listing.auto_paging_iter():
                data = _as_dict(price)
                found[data["lookup_key"]] = data
        return found

    def create_price(
        self,
        *,
        product_id: str,
        unit_amount: int,
        currency: str,
        interval_months: int,
        lookup_key: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """A recurring price that takes the lookup key over from whichever price had it."""
        price = self._call(
            "create price",
            self.client.v1.prices.create,
            params={
                "product": product_id,
                "unit_amount": unit_amount,
                "currency": currency,
                "recurring": {"interval": "month", "interval_count": interval_months},
                "lookup_key": lookup_key,
                "transfer_lookup_key": True,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return _as_dict(price)

    def archive_price(self, price_id: str) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "archive price", self.client.v1.prices.update, price_id, params={"active": False}
            )
        )

    # -- checkout and customers ----------------------------------------------------------------

    def create_checkout_session(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        session = self._call(
            "create checkout session",
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return _as_dict(session)

    def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        session = self._call(
            "retrieve checkout session",
            self.client.v1.checkout.sessions.retrieve,
            session_id,
            params={"expand": ["line_items"]},
        )
        return _as_dict(session)

    def create_billing_portal_session(self, customer_id: str, return_url: str) -> dict[str, Any]:
        portal = self._call(
            "create billing portal session",
            self.client.v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": return_url},
        )
        return _as_dict(portal)

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        return _as_dict(
            self._call("retrieve customer", self.client.v1.customers.retrieve, customer_id)
        )

    def update_customer(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "update customer", self.client.v1.customers.update, customer_id, params=params
            )
        )

    def retrieve_price(self, price_id: str) -> dict[str, Any]:
        return _as_dict(self._call("retrieve price", self.client.v1.prices.retrieve, price_id))

    # -- subscriptions ---------------------------------------------------------------------------

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "retrieve subscription", self.client.v1.subscriptions.retrieve, subscription_id
            )
        )

    def update_subscription(self, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "update subscription",
                self.client.v1.subscriptions.update,
                subscription_id,
                params=params,
            )
        )

    def list_subscriptions(self) -> Iterator[dict[str, Any]]:
        """Every subscription in the account, whatever its status."""
        listing = self._call(
            "list subscriptions",
            self.client.v1.subscriptions.list,
            params={"status": "all", "limit": 100},
        )
        for subscription in listing.auto_paging_iter():
            yield _as_dict(subscription)

    def paid_invoices(self, subscription_id: str) -> Iterator[dict[str, Any]]:
        """Every paid invoice of a subscription, newest first (all pages)."""
        listing = self._call(
            "list invoices",
            self.client.v1.invoices.list,
            params={"subscription": subscription_id, "status": "paid", "limit": 100},
        )
        for invoice in listing.auto_paging_iter():
            yield _as_dict(invoice)

    def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return _as_dict(
            self._call("retrieve invoice", self.client.v1.invoices.retrieve, invoice_id)
        )

    # -- promotions ----------------------------------------------------------------------------

    def list_promotion_codes(
        self, *, limit: int, starting_after: str | None = None, code: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of promotion codes, newest first, each with its coupon expanded; and
        whether there are more. `code` finds a code whatever its case (Stripe compares so)."""
        params: dict[str, Any] = {"limit": limit, "expand": ["data.promotion.coupon"]}
        if starting_after:
            params["starting_after"] = starting_after
        if code:
            params["code"] = code
        listing = self._call(
            "list promotion codes", self.client.v1.promotion_codes.list, params=params
        )
        return [_as_dict(promo) for promo in listing.data], bool(listing.has_more)

    def retrieve_promotion_code(self, promotion_code_id: str) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "retrieve promotion code",
                self.client.v1.promotion_codes.retrieve,
                promotion_code_id,
                params={"expand": ["promotion.coupon"]},
            )
        )

    def create_coupon(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "create coupon",
                self.client.v1.coupons.create,
                params=params,
                options={"idempotency_key": idempotency_key},
            )
        )

    def delete_coupon(self, coupon_id: str) -> None:
        """Delete a coupon (codes already redeemed keep their discount, as on Stripe)."""
        self._call("delete coupon", self.client.v1.coupons.delete, coupon_id)

    def create_promotion_code(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "create promotion code",
                self.client.v1.promotion_codes.create,
                params={**params, "expand": ["promotion.coupon"]},
                options={"idempotency_key": idempotency_key},
            )
        )

    def deactivate_promotion_code(self, promotion_code_id: str) -> dict[str, Any]:
        """Set a code's `active` to false: no new redemptions; a deactivated code cannot be
        activated again under the same text while another active code has it."""
        return _as_dict(
            self._call(
                "deactivate promotion code",
                self.client.v1.promotion_codes.update,
                promotion_code_id,
                params={"active": False, "expand": ["promotion.coupon"]},
            )
        )

    # -- webhooks --------------------------------------------------------------------------------

    def verify_event(
        self, payload: bytes, signature: str | None, secrets: Iterable[str]
    ) -> dict[str, Any]:
        """The event in a webhook body, if any of `secrets` signed it recently (rotation-safe)."""
        if not signature:
            raise WebhookSignatureError("Missing Stripe-Signature header.")
        if not signature.isascii() or not signature.isprintable():
            raise WebhookSignatureError("The Stripe-Signature header is malformed.")
        if _signed_in_the_future(signature):
            # The library refuses only old timestamps; one from the future is as suspect.
            raise WebhookSignatureError("The signature's timestamp is in the future.")
        last_error: Exception | None = None
        for secret in secrets:
            try:
                stripe.WebhookSignature.verify_header(
                    payload.decode("utf-8", "replace"), signature, secret, WEBHOOK_TOLERANCE_SECONDS
                )
            except stripe.SignatureVerificationError as exc:
                last_error = exc
                continue
            try:
                event = json.loads(payload)  # the exact payload Stripe signed
            except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
                raise WebhookSignatureError("The body is not JSON.") from exc
            if not isinstance(event, dict):
                raise WebhookSignatureError("The body is not a Stripe event.")
            return event
        raise WebhookSignatureError("No webhook secret matches the signature.") from last_error


def _signed_in_the_future(signature: str) -> bool:
    for part in signature.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value) > time.time() + WEBHOOK_TOLERANCE_SECONDS
    return False


def gateway() -> StripeGateway:
    """The app's gateway for where the call is made, built once from the settings.

    A page (someone is waiting) gets STRIPE_PAGE_TIMEOUT_SECONDS and no retry, so a hanging Stripe
    costs it seconds, not a worker; a job or a command gets STRIPE_TIMEOUT_SECONDS and retries.
    """
    from shop.jobs import in_job

    on_page = has_request_context() and not in_job()
    key = "stripe_gateway_page" if on_page else "stripe_gateway"
    existing = current_app.extensions.get(key)
    if existing is None:
        config = current_app.config
        existing = StripeGateway(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_API_BASE"] or None,
            read_timeout=config[
                "STRIPE_PAGE_TIMEOUT_SECONDS" if on_page else "STRIPE_TIMEOUT_SECONDS"
            ],
            network_retries=0 if on_page else BACKGROUND_NETWORK_RETRIES,
            page_budget=config["STRIPE_PAGE_TIMEOUT_SECONDS"] if on_page else None,
        )
        current_app.extensions[key] = existing
    return existing
