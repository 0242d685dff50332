"""The ``/v1`` API handlers, one module per Stripe resource; importing this registers them all."""

from . import (
    billing_portal,
    checkout_sessions,
    coupons,
    customers,
    events,
    invoices,
    payment_methods,
    prices,
    products,
    promotion_codes,
    subscriptions,
    webhook_endpoints,
)

__all__ = [
    "billing_portal",
    "checkout_sessions",
    "coupons",
    "customers",
    "events",
    "invoices",
    "payment_methods",
    "prices",
    "products",
    "promotion_codes",
    "subscriptions",
    "webhook_endpoints",
]
