"""Billing: the Stripe gateway, checkout, webhooks, subscriptions, the box calendar and shipping."""
