"""The emulator's state: collections of Stripe objects, the clock, events and persistence.

Everything lives in one JSON-serialisable dict guarded by a re-entrant lock. Keys starting with
``_`` inside stored objects are emulator-private and never leave it. With a ``state_path`` the
whole dict is written to a one-row SQLite table after every change, so a demo survives a restart.

``State`` knows nothing of billing or of webhook delivery: the billing behaviour works on a
``State``, and ``core.Emulator`` builds on it with the delivery worker and the due-work scheduler.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .errors import StripeError, missing
from .objects import new_id, plan_from_price

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

_IDEMPOTENCY_CAP = 5000

Transport = Callable[[str, str, dict[str, str]], int | None]
"""``transport(url, payload, headers) -> HTTP status`` (None: no answer). Lets tests deliver
straight into a Flask test client instead of over the network."""


def endpoint_matches(endpoint: dict[str, Any], event_type: str) -> bool:
    """Whether an enabled endpoint subscribes to ``event_type`` (``*`` matches everything)."""
    if endpoint.get("status") != "enabled" or endpoint.get("deleted"):
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


class State:
    """Storage, clock, events and idempotency records for one emulator, plus its settings."""

    def __init__(
        self,
        state_path: str | os.PathLike[str] | None = None,
        *,
        retry_delays: Sequence[float] = (2.0, 4.0, 8.0, 16.0),
        delivery_timeout: float = 10.0,
        payment_retry_days: Sequence[int] = (3, 5, 7),
        public_base_url: str | None = None,
        account_name: str = "MuscleBox",
        transport: Transport | None = None,
    ) -> None:
        self.transport = transport
        self.lock = threading.RLock()
        self.state_path = os.fspath(state_path) if state_path else None
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

    # -- storage -----------------------------------------------------------------------------

    @staticmethod
    def _empty() -> dict[str, Any]:
        data: dict[str, Any] = {name: {} for name in COLLECTIONS}
        data["clock"] = {"offset": 0, "last": 0}
        data["seq"] = 0
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

    def committed(self) -> None:
        """Called after every ``transaction``; the Emulator wakes its delivery worker here."""

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
        self.committed()

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
