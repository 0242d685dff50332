"""``Emulator``: the state plus what makes it run, the webhook worker and the due-work scheduler.

Also the production guard: the emulator refuses to start with ``SHOP_ENV=production`` or next to
a live key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from .billing.scheduler import process_due
from .errors import StripeError
from .objects import build_webhook_endpoint
from .state import API_VERSION, State, Transport
from .webhooks import DeliveryWorker

__all__ = ["API_VERSION", "Emulator", "ProductionRefused", "refuse_production"]


class ProductionRefused(RuntimeError):
    """Raised when something tries to start the emulator with SHOP_ENV=production."""


def refuse_production(api_key: str | None = None) -> None:
    """Raise ProductionRefused in production (SHOP_ENV) or next to a live Stripe key."""
    if os.environ.get("SHOP_ENV", "").strip().lower() in ("production", "prod"):
        raise ProductionRefused(
            "The Stripe emulator must never run in production (SHOP_ENV=production). "
            "Point the shop at the real Stripe API instead."
        )
    for key in (api_key or "", os.environ.get("STRIPE_SECRET_KEY", "")):
        if key.strip().startswith(("sk_live_", "rk_live_")):
            raise ProductionRefused(
                "The Stripe emulator refuses to start with a live Stripe key (sk_live_...): "
                "live keys belong to the real Stripe API."
            )


def _owned_by(endpoint: dict[str, Any], owner: str, secret: str | None) -> bool:
    """Whether ``owner`` manages ``endpoint`` (see ``Emulator.ensure_webhook_endpoint``)."""
    metadata = endpoint.get("metadata") or {}
    if metadata:
        return metadata.get("managed_by") == owner
    return secret is not None and endpoint.get("_secret") == secret


class Emulator(State):
    """The state handle: storage, clock, events and webhook delivery for one emulator."""

    def __init__(
        self,
        state_path: str | os.PathLike[str] | None = None,
        *,
        deliver_async: bool = True,
        retry_delays: Sequence[float] = (2.0, 4.0, 8.0, 16.0),
        delivery_timeout: float = 10.0,
        payment_retry_days: Sequence[int] = (3, 5, 7),
        public_base_url: str | None = None,
        account_name: str = "MuscleBox",
        transport: Transport | None = None,
    ) -> None:
        refuse_production()
        super().__init__(
            state_path,
            retry_delays=retry_delays,
            delivery_timeout=delivery_timeout,
            payment_retry_days=payment_retry_days,
            public_base_url=public_base_url,
            account_name=account_name,
            transport=transport,
        )
        self.worker = DeliveryWorker(self)
        if deliver_async:
            self.worker.start()

    def committed(self) -> None:
        """New deliveries may be due after any change."""
        self.worker.wake()

    # -- clock -------------------------------------------------------------------------------

    def advance(self, seconds: int) -> dict[str, Any]:
        """Move the clock forward and process every renewal, retry and expiry that falls due."""
        if seconds < 0:
            raise StripeError(400, "The clock can only move forward.", param="seconds")
        with self.transaction():
            start = self.now()
            target = start + seconds
            processed = process_due(self, target)
            clock = self.data["clock"]
            clock["offset"] = target - int(time.time())
            clock["last"] = target
        return {"now": target, "advanced_by": seconds, "processed": processed}

    def tick(self) -> None:
        """Process work that fell due in wall-clock time (called before each API request)."""
        with self.lock:
            target = self.now()
            if process_due(self, target):
                self.save()

    # -- webhooks ----------------------------------------------------------------------------

    def deliver_pending(self, *, force: bool = False, transport: Transport | None = None) -> int:
        """Deliver due webhooks now, in this thread; ``force`` ignores backoff. Returns attempts.

        ``transport(url, payload, headers) -> status`` replaces the HTTP POST, e.g. to post into
        a Flask test client.
        """
        return self.worker.run_once(force=force, transport=transport)

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Block until no delivery is pending (async mode); True when all settled in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                pending = any(d["status"] == "pending" for d in self.data["deliveries"].values())
            if not pending:
                return True
            time.sleep(0.01)
        return False

    def ensure_webhook_endpoint(
        self,
        url: str,
        secret: str | None = None,
        enabled_events: Sequence[str] = ("*",),
        *,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """Register (or refresh) the endpoint for ``url``, like ``stripe listen --forward-to``.

        A given ``secret`` (``whsec_...``) replaces the generated one so the shop's configuration
        can hold a fixed development secret. Returns the endpoint including ``secret``.

        ``owner`` (e.g. ``"shop.devserver"``, kept as ``metadata["managed_by"]``) makes it the
        owner's one endpoint: an endpoint of that owner registered for another URL (an earlier
        run on another port) is moved to ``url``, its pending deliveries with it, and any other
        endpoint of that owner is deleted, so events never go to a stale address. An endpoint
        without metadata signed with the same ``secret`` counts as the owner's (registered before
        owners were recorded). Endpoints of anyone else are left as they are.
        """
        if secret is not None and not secret.startswith("whsec_"):
            raise ValueError("Webhook secrets start with whsec_.")
        with self.transaction():
            endpoints = self.ordered("webhook_endpoints")
            owned = [e for e in endpoints if owner and _owned_by(e, owner, secret)]
            # The owner's endpoint for this URL, else the owner's at another URL (moved here),
            # else an endpoint for this URL that no other owner manages (the behaviour without
            # an owner), else a new one.
            endpoint = next((e for e in owned if e["url"] == url), owned[0] if owned else None)
            if endpoint is None:
                endpoint = next(
                    (
                        e
                        for e in endpoints
                        if e["url"] == url
                        and not (owner and (e.get("metadata") or {}).get("managed_by"))
                    ),
                    None,
                )
            if endpoint is None:
                endpoint = build_webhook_endpoint(
                    self, url=url, enabled_events=list(enabled_events)
                )
                self.insert("webhook_endpoints", endpoint)
            for stale in owned:
                if stale is not endpoint:
                    stale["deleted"] = True
            if endpoint["url"] != url:
                endpoint["url"] = url
                for delivery in self.data["deliveries"].values():
                    if delivery["endpoint"] == endpoint["id"] and delivery["status"] == "pending":
                        delivery["url"] = url
            if owner:
                endpoint["metadata"] = {**(endpoint.get("metadata") or {}), "managed_by": owner}
                endpoint["description"] = f"Managed by {owner}: follows it to its current address"
            endpoint["enabled_events"] = list(enabled_events)
            endpoint["status"] = "enabled"
            if secret:
                endpoint["_secret"] = secret
            return {**self.render(endpoint), "secret": endpoint["_secret"]}

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the delivery worker and persist the state."""
        self.worker.stop()
        self.save()
