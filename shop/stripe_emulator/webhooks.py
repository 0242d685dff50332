"""Signed webhook delivery: a background worker POSTs events to registered endpoints.

Signatures follow Stripe's scheme (``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"t.payload">``) and use wall-clock time, because receivers check the timestamp against their own
clock whatever the emulator's clock says. Failed attempts (non-2xx, refused, no answer within the
timeout) are retried after ``retry_delays``; after the last one the delivery is marked failed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .state import State, Transport, endpoint_matches

logger = logging.getLogger(__name__)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def delivery_headers(payload: str, secret: str) -> dict[str, str]:
    """The headers Stripe sends with a webhook."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign(payload, secret),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) emulator",
    }


def post(
    url: str, payload: str, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """POST one delivery over HTTP; returns (status, error text)."""
    request = urllib.request.Request(  # noqa: S310 - URL comes from a registered endpoint
        url, data=payload.encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(65536)
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # No answer, a timeout, or an answer that is not HTTP: a failed attempt all the same.
        return None, str(exc) or exc.__class__.__name__


class DeliveryWorker:
    """Delivers pending webhooks, in a background thread or on demand via ``run_once``."""

    def __init__(self, emulator: State) -> None:
        self.emulator = emulator
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, name="stripe-emulator-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to stop and wait for it (an in-flight POST finishes first)."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Tell the thread new deliveries may be due."""
        self._wakeup.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self.run_once()
            except Exception:  # a bad delivery must not kill the worker
                logger.exception("Webhook delivery round failed")
            self._wakeup.wait(self._seconds_until_next())

    def _seconds_until_next(self) -> float:
        with self.emulator.lock:
            times = [
                d["next_attempt_at"]
                for d in self.emulator.data["deliveries"].values()
                if d["status"] == "pending"
            ]
        if not times:
            return 5.0
        return max(0.0, min(min(times) - time.time(), 5.0))

    def run_once(self, *, force: bool = False, transport: Transport | None = None) -> int:
        """Attempt every due delivery once (all pending ones when ``force``). Returns attempts.

        ``transport`` replaces the HTTP POST (see ``Transport``); otherwise the emulator's own
        ``transport`` option, otherwise urllib.
        """
        transport = transport or self.emulator.transport
        with self._run_lock:
            em = self.emulator
            with em.lock:
                now = time.time()
                due = sorted(
                    (
                        d
                        for d in em.data["deliveries"].values()
                        if d["status"] == "pending" and (force or d["next_attempt_at"] <= now)
                    ),
                    key=lambda d: d["_seq"],
                )
                jobs = []
                for delivery in due:
                    event = em.data["events"].get(delivery["event"])
                    endpoint = em.data["webhook_endpoints"].get(delivery["endpoint"])
                    if event is None or endpoint is None or endpoint.get("deleted"):
                        delivery["status"] = "failed"
                        delivery["attempts"].append(
                            {"at": now, "status": None, "error": "endpoint deleted"}
                        )
                        continue
                    payload = json.dumps(em.render(event), indent=2)
                    jobs.append((delivery["id"], endpoint["url"], payload, endpoint["_secret"]))
            for delivery_id, url, payload, secret in jobs:
                if self._stopping.is_set() and not force and self._thread is not None:
                    break
                started = time.time()
                headers = delivery_headers(payload, secret)
                if transport is not None:
                    try:
                        status, error = transport(url, payload, headers), None
                    except Exception as exc:  # a failing receiver is a failed delivery
                        status, error = None, repr(exc)
                else:
                    try:
                        status, error = post(url, payload, headers, em.delivery_timeout)
                    except Exception as exc:  # whatever happens, it counts as an attempt
                        status, error = None, repr(exc)
                self._record(delivery_id, started, status, error)
            em.save()
            return len(jobs)

    def _record(
        self, delivery_id: str, started: float, status: int | None, error: str | None
    ) -> None:
        em = self.emulator
        with em.lock:
            delivery = em.data["deliveries"].get(delivery_id)
            if delivery is None:
                return
            delivery["attempts"].append(
                {
                    "at": started,
                    "status": status,
                    "error": error,
                    "duration": round(time.time() - started, 3),
                }
            )
            if status is not None and 200 <= status < 300:
                delivery["status"] = "succeeded"
                event = em.data["events"].get(delivery["event"])
                if event is not None:
                    event["pending_webhooks"] = max(0, int(event["pending_webhooks"]) - 1)
                return
            attempt = len(delivery["attempts"])
            if attempt > len(em.retry_delays):
                delivery["status"] = "failed"
                return
            delivery["next_attempt_at"] = time.time() + em.retry_delays[attempt - 1]


def resend(emulator: State, event_id: str) -> list[dict[str, Any]]:
    """Queue a fresh delivery of an event to every endpoint that subscribes to its type."""
    with emulator.transaction():
        event = emulator.get("events", event_id, "event")
        return [
            emulator.queue_delivery(event, endpoint)
            for endpoint in emulator.ordered("webhook_endpoints")
            if endpoint_matches(endpoint, event["type"])
        ]
