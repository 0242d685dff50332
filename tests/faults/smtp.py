"""SMTP servers for mail fault tests: one server whose behaviour switches at run time.

`SmtpServer` is a real SMTP server (aiosmtpd) behind a `FaultProxy`, so one `url` (give it to the
shop as MAIL_URL) can work, fail and recover while a test runs:

    with SmtpServer() as smtp:                  # mode "accept"
        app_env["MAIL_URL"] = smtp.url          # smtp://127.0.0.1:<port>
        smtp.set_mode("tempfail")               # 451 to every RCPT TO and DATA
        ...
        smtp.set_mode("accept")
        smtp.wait_for_messages(1, timeout=5)
        assert smtp.messages[0]["To"] == "sam@example.com"

Modes:

- ``accept``: a working server; each message is parsed and kept (`messages`, thread-safe copies).
- ``tempfail``: answers ``451 4.3.0`` to every RCPT TO and DATA (a temporary failure: retry later).
- ``reject``: answers ``550 5.1.1`` to every RCPT TO (a permanent failure: do not retry).
- ``hang``: accepts the TCP connection and never sends the greeting (the client's timeout fires);
  open sessions hang too.
- ``refuse``: the port is closed (connection refused); open sessions continue.
- ``cut``: open sessions are reset and new connections refused.

`closed_port_url()` gives an smtp:// URL on which nothing listens, for a plain "refused" case.
"""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.faults.proxy import FaultProxy
from tests.local_servers import free_port

SMTP_MODES = ("accept", "tempfail", "reject", "hang", "refuse", "cut")


def closed_port_url() -> str:
    """An smtp:// URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    return f"smtp://127.0.0.1:{free_port()}"


class _Handler:
    """aiosmtpd handler: keeps messages, or answers failures, by the server's current mode."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        mode = self.server.mode
        if mode == "tempfail":
            return "451 4.3.0 Temporary failure, try again later"
        if mode == "reject":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        if self.server.mode == "tempfail":
            return "451 4.3.0 Temporary failure, try again later"
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        with self.server._lock:
            self.server._messages.append(message)  # type: ignore[arg-type]
            self.server._envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpServer:
    """A capturing SMTP server on 127.0.0.1 behind a FaultProxy; `url`, `set_mode()`, `messages`.

    Starts in `mode` (default "accept"). `close()` (or leaving the `with` block) stops the proxy
    and the aiosmtpd thread; both are bounded.
    """

    def __init__(self, mode: str = "accept") -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        self._envelopes: list[tuple[str, list[str]]] = []
        self.mode = "accept"
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=free_port(), ready_timeout=5
        )
        self._controller.start()
        self.proxy = FaultProxy("127.0.0.1", self._controller.port)
        self.port = self.proxy.port
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; see the module docstring for what each mode does."""
        if mode not in SMTP_MODES:
            raise ValueError(f"unknown SMTP mode {mode!r}; choose from {SMTP_MODES}")
        self.mode = mode
        self.proxy.set_mode(mode if mode in ("hang", "refuse", "cut") else "pass")

    @property
    def messages(self) -> list[EmailMessage]:
        """A copy of the messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        """(MAIL FROM, [RCPT TO...]) of each accepted message."""
        with self._lock:
            return list(self._envelopes)

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived (or `timeout`); returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.02)
        return self.messages

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._envelopes.clear()

    def close(self) -> None:
        self.proxy.close()
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
