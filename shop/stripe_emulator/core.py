"""The emulator's state: collections of Stripe objects, the clock, events and persistence.

Everything lives in one JSON-serialisable dict guarded by a re-entrant lock. Keys starting with
``_`` inside stored objects are emulator-private and never leave it. With a ``state_path`` the
whole dict is written to a one-row SQLite table after every change, so a demo survives a restart.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import StripeError, missing

if TYPE_CHECKING:
    from .webhooks import Transport

API_VERSION = "2026-10-28.endive"

COLLECTIONS = (
    "products",
    "prices",
    "customers",
    "payment_methods",
    "checkout_sessions",
    "checkout_line_items",
    "portal_sessions",
    "subscriptions",
    "invoices",
    "coupons",
    "promotion_codes",
    "discounts",
    "events",
    "webhook_endpoints",
    "deliveries",
    "idempotency",
)

# Longest prefixes first: "cs_test_" must win over "cs_".
PREFIXES: dict[str, tuple[str, str]] = {
    "prod_": ("products", "product"),
    "price_": ("prices", "price"),
    "cus_": ("customers", "customer"),
    "pm_": ("payment_methods", "payment_method"),
    "cs_test_": ("checkout_sessions", "checkout.session"),
    "bps_": ("portal_sessions", "billing_portal.session"),
    "sub_": ("subscriptions", "subscription"),
    "in_": ("invoices", "invoice"),
    "promo_": ("promotion_codes", "promotion_code"),
    "di_": ("discounts", "discount"),
    "evt_": ("events", "event"),
    "we_": ("webhook_endpoints", "webhook_endpoint"),
}

_ALPHABET = string.ascii_letters + string.digits
_IDEMPOTENCY_CAP = 5000


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


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking id: prefix plus random letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Emulator:
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
        self.transport = transport
        self.lock = threading.RLock()
        self.state_path = os.fspath(state_path) if state_path else None
        self.deliver_async = deliver_async
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.delivery_timeout = delivery_timeout
        self.payment_retry_days = tuple(int(d) for d in payment_retry_days)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.account_name = account_name
        self._pinned: int | None = None
        self._request = threading.local()
        self.data: dict[str, Any] = self._empty()
        if self.state_path:
            self._load()
        from .webhooks import DeliveryWorker  # circular: webhooks needs Emulator's API

        self.worker = DeliveryWorker(self)
        if deliver_async:
            self.worker.start()

    # -- storage -----------------------------------------------------------------------------

    @staticmethod
    def _empty() -> dict[str, Any]:
        data: dict[str, Any] = {name: {} for name in COLLECTIONS}
        data["clock"] = {"offset": 0, "last": 0}
        data["seq"] = 0
        data["invoice_numbers"] = 0
        return data

    def _load(self) -> None:
        assert self.state_path
        conn = sqlite3.connect(self.state_path)
        try:
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS emulator_state (id INTEGER PRIMARY KEY, json TEXT)"
                )
                row = conn.execute("SELECT json FROM emulator_state WHERE id = 1").fetchone()
        finally:
            conn.close()
        if row:
            loaded = json.loads(row[0])
            for name in COLLECTIONS:
                loaded.setdefault(name, {})
            self.data.update(loaded)

    def save(self) -> None:
        """Write the state to SQLite when a path was given (no-op in memory).

        Serialising and writing both happen under the lock so an older snapshot can never
        overwrite a newer one.
        """
        if not self.state_path:
            return
        with self.lock:
            payload = json.dumps(self.data, separators=(",", ":"))
            conn = sqlite3.connect(self.state_path)
            try:
                with conn:
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS emulator_state "
                        "(id INTEGER PRIMARY KEY, json TEXT)"
                    )
                    conn.execute(
                        "INSERT INTO emulator_state (id, json) VALUES (1, ?) "
                        "ON CONFLICT(id) DO UPDATE SET json = excluded.json",
                        (payload,),
                    )
            finally:
                conn.close()

    @contextmanager
    def transaction(self, *, persist: bool = True) -> Iterator[None]:
        """Hold the lock for a unit of work and persist afterwards (also after a StripeError).

        ``persist=False`` is for reads: only work that fell due (``tick``) gets saved.
        """
        with self.lock:
            try:
                yield
            finally:
                if persist:
                    self.save()
        self.worker.wake()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Undo every change made inside the block when it raises StripeError.

        Objects are snapshotted; the append-only logs (events, deliveries) are trimmed back.
        """
        with self.lock:
            logs = ("events", "deliveries", "idempotency")
            saved = {
                name: copy.deepcopy(self.data[name]) for name in COLLECTIONS if name not in logs
            }
            lengths = {name: len(self.data[name]) for name in logs}
            seq = self.data["seq"]
            try:
                yield
            except StripeError:
                self.data.update(saved)
                for name, length in lengths.items():
                    for key in list(self.data[name])[length:]:
                        del self.data[name][key]
                self.data["seq"] = seq
                raise

    def reset(self) -> None:
        """Forget every object and event (the clock offset too)."""
        with self.transaction():
            self.data = self._empty()

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        """The raw dict of one collection (id -> stored object)."""
        return self.data[name]

    def next_seq(self) -> int:
        """A strictly increasing counter used to order objects created in the same second."""
        self.data["seq"] += 1
        return int(self.data["seq"])

    def insert(self, name: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object, stamping its creation order."""
        obj["_seq"] = self.next_seq()
        self.data[name][obj["id"]] = obj
        return obj

    def get(
        self, name: str, obj_id: Any, kind: str | None = None, param: str = "id"
    ) -> dict[str, Any]:
        """Fetch a stored object or raise 404 resource_missing."""
        obj = self.data[name].get(obj_id) if isinstance(obj_id, str) else None
        if obj is None or obj.get("deleted"):
            raise missing(kind or name.rstrip("s"), str(obj_id), param)
        return obj

    def lookup(self, obj_id: str) -> dict[str, Any] | None:
        """Find any stored object by its id prefix (used by expansion)."""
        for prefix, (name, _kind) in PREFIXES.items():
            if obj_id.startswith(prefix):
                return self.data[name].get(obj_id)
        return self.data["coupons"].get(obj_id)

    def ordered(
        self, name: str, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """A collection's live objects, newest first, optionally filtered."""
        objects = [
            o
            for o in self.data[name].values()
            if not o.get("deleted") and (predicate is None or predicate(o))
        ]
        objects.sort(key=lambda o: (o.get("created", 0), o.get("_seq", 0)), reverse=True)
        return objects

    def render(self, obj: Any) -> Any:
        """A deep copy without private ``_`` keys, with embedded prices refreshed."""
        if isinstance(obj, dict):
            # Only the live subscription: snapshots stored in events keep the prices they had.
            if (
                obj.get("object") == "subscription"
                and self.data["subscriptions"].get(obj.get("id")) is obj
            ):
                self._refresh_items(obj)
            return {k: self.render(v) for k, v in obj.items() if not k.startswith("_")}
        if isinstance(obj, list):
            return [self.render(v) for v in obj]
        return copy.deepcopy(obj)

    def _refresh_items(self, sub: dict[str, Any]) -> None:
        from .objects import plan_from_price

        for item in sub["items"]["data"]:
            price = self.data["prices"].get(item["price"]["id"])
            if price is not None:
                item["price"] = {
                    k: copy.deepcopy(v) for k, v in price.items() if not k.startswith("_")
                }
                item["plan"] = plan_from_price(price)

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> int:
        """Emulator time in Unix seconds: wall time plus the advanced offset; never goes back."""
        if self._pinned is not None:
            return self._pinned
        clock = self.data["clock"]
        value = max(int(time.time()) + int(clock["offset"]), int(clock["last"]))
        clock["last"] = value
        return value

    @contextmanager
    def pinned(self, timestamp: int) -> Iterator[None]:
        """Make ``now()`` return ``timestamp`` (used while replaying due work in order)."""
        previous = self._pinned
        self._pinned = timestamp
        try:
            yield
        finally:
            self._pinned = previous

    def advance(self, seconds: int) -> dict[str, Any]:
        """Move the clock forward and process every renewal, retry and expiry that falls due."""
        if seconds < 0:
            raise StripeError(400, "The clock can only move forward.", param="seconds")
        from .billing import process_due

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
        from .billing import process_due

        with self.lock:
            target = self.now()
            if process_due(self, target):
                self.save()

    # -- request context for events --------------------------------------------------------

    @contextmanager
    def request_context(
        self, request_id: str | None, idempotency_key: str | None
    ) -> Iterator[None]:
        """Tag events emitted inside this block with the API request that caused them."""
        self._request.value = {"id": request_id, "idempotency_key": idempotency_key}
        try:
            yield
        finally:
            self._request.value = None

    # -- events ------------------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an event with a snapshot of ``obj`` and queue its webhook deliveries."""
        from .webhooks import endpoint_matches

        request = getattr(self._request, "value", None) or {"id": None, "idempotency_key": None}
        data: dict[str, Any] = {"object": self.render(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = self.render(previous_attributes)
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": dict(request),
            "type": event_type,
        }
        self.insert("events", event)
        for endpoint in self.ordered("webhook_endpoints"):
            if endpoint_matches(endpoint, event_type):
                self.queue_delivery(event, endpoint)
        return event

    def queue_delivery(self, event: dict[str, Any], endpoint: dict[str, Any]) -> dict[str, Any]:
        """Create a pending delivery of ``event`` to ``endpoint``."""
        delivery = {
            "id": new_id("whdel_"),
            "object": "emulator.delivery",
            "created": self.now(),
            "event": event["id"],
            "event_type": event["type"],
            "endpoint": endpoint["id"],
            "url": endpoint["url"],
            "status": "pending",
            "attempts": [],
            "next_attempt_at": time.time(),
        }
        self.insert("deliveries", delivery)
        event["pending_webhooks"] = int(event.get("pending_webhooks", 0)) + 1
        return delivery

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
        self, url: str, secret: str | None = None, enabled_events: Sequence[str] = ("*",)
    ) -> dict[str, Any]:
        """Register (or refresh) the endpoint for ``url``, like ``stripe listen --forward-to``.

        A given ``secret`` (``whsec_...``) replaces the generated one so the shop's configuration
        can hold a fixed development secret. Returns the endpoint including ``secret``.
        """
        from .objects import build_webhook_endpoint

        if secret is not None and not secret.startswith("whsec_"):
            raise ValueError("Webhook secrets start with whsec_.")
        with self.transaction():
            endpoint = next((e for e in self.ordered("webhook_endpoints") if e["url"] == url), None)
            if endpoint is None:
                endpoint = build_webhook_endpoint(
                    self, url=url, enabled_events=list(enabled_events)
                )
                self.insert("webhook_endpoints", endpoint)
            endpoint["enabled_events"] = list(enabled_events)
            endpoint["status"] = "enabled"
            if secret:
                endpoint["_secret"] = secret
            return {**self.render(endpoint), "secret": endpoint["_secret"]}

    # -- idempotency -------------------------------------------------------------------------

    def idempotent_lookup(self, key: str) -> dict[str, Any] | None:
        """The stored response for an idempotency key, if any."""
        return self.data["idempotency"].get(key)

    def idempotent_store(self, key: str, record: dict[str, Any]) -> None:
        """Remember a response for an idempotency key (bounded, oldest dropped)."""
        store = self.data["idempotency"]
        store[key] = record
        if len(store) > _IDEMPOTENCY_CAP:
            for old in list(store)[: len(store) - _IDEMPOTENCY_CAP]:
                del store[old]

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the delivery worker and persist the state."""
        self.worker.stop()
        self.save()
