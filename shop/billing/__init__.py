"""Billing: the Stripe gateway, checkout, webhooks, subscriptions and shipments."""
