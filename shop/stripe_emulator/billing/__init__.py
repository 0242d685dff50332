"""Billing behaviour: what Stripe does to cards, invoices and subscriptions, and when."""
