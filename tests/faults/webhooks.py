"""Signed Stripe webhook deliveries for fault tests, made with Stripe's real signing scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from tests.faults.servers import TEST_WEBHOOK_SECRET


def stripe_event(
    event_id: str, type_: str = "invoice.paid", obj: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A minimal event envelope as Stripe sends it (the object defaults to an unknown invoice)."""
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj or {"id": f"in_{event_id}", "object": "invoice"}},
    }


def signed_delivery(
    event: dict[str, Any], secret: str = TEST_WEBHOOK_SECRET
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for POST /webhooks/stripe, signed now with `secret`."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}
