"""Run the emulator on a free 127.0.0.1 port in a background thread, for tests and scripts."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Sequence
from typing import Any

import stripe
from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_emulator_app
from .core import Emulator


class QuietHandler(WSGIRequestHandler):
    """Keep test output clean: no access log lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class RunningEmulator:
    """A started emulator server: ``base_url``, ``api_key``, ``client()``, ``emulator``, ``stop()``.

    Usable as a context manager. ``deliver_async=False`` (the default here) keeps webhook
    delivery under the test's control via ``emulator.deliver_pending()``.
    """

    def __init__(
        self,
        *,
        api_key: str = "sk_test_emulator",
        deliver_async: bool = False,
        retry_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
        delivery_timeout: float = 5.0,
        payment_retry_days: Sequence[int] = (3, 5, 7),
        state_path: str | None = None,
    ) -> None:
        self.api_key = api_key
        self.emulator = Emulator(
            state_path,
            deliver_async=deliver_async,
            retry_delays=retry_delays,
            delivery_timeout=delivery_timeout,
            payment_retry_days=payment_retry_days,
        )
        self.app = create_emulator_app(self.emulator)
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="stripe-emulator",
            daemon=True,
        )
        self._thread.start()
        self._wait_ready()

    def _wait_ready(self) -> None:
        with urllib.request.urlopen(f"{self.base_url}/_emulator/clock", timeout=5) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError("The Stripe emulator did not start.")

    def client(self, **options: Any) -> stripe.StripeClient:
        """A StripeClient pointed at this emulator (no network retries unless asked)."""
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(
            self.api_key,
            base_addresses={
                "api": self.base_url,
                "connect": self.base_url,
                "files": self.base_url,
                "meter_events": self.base_url,
            },
            **options,
        )

    def advance(self, *, days: float = 0, seconds: int = 0) -> dict[str, Any]:
        """Advance the emulator clock (renewals, retries and expiries run)."""
        return self.emulator.advance(int(days * 86400) + seconds)

    def stop(self) -> None:
        """Shut the server and the delivery worker down."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self.emulator.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
