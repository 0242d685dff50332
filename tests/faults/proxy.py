"""`FaultProxy`: a TCP proxy on 127.0.0.1 that can refuse, hang, cut or answer HTTP errors on demand.

Put it between the shop and anything it talks to over TCP (PostgreSQL, Redis, SMTP, the Stripe
emulator) and switch its mode while a test runs:

    with FaultProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test_faults"
        ...                      # proxy.mode == "pass": bytes flow both ways
        proxy.cut()              # reset every open connection, refuse new ones
        ...
        proxy.passthrough()      # listen again on the same port; new connections work

Modes (`proxy.mode`):

- ``pass``: forward bytes both ways; the upstream connection is opened per accepted connection.
  If the upstream cannot be reached the client's connection is reset.
- ``refuse``: the listening socket is closed, so new connections are refused (ECONNREFUSED);
  connections already open keep forwarding (a server that takes no new clients), but one still
  waiting in the listen backlog, not yet accepted, is reset. Switching back to any other mode
  listens again on the same port.
- ``hang``: new connections are accepted and read, and nothing is ever answered (not even a
  greeting: an SMTP or PostgreSQL client waits until its own timeout). Connections already open
  hang too: what the client sends is read and dropped, and nothing from upstream reaches it.
  Because bytes were dropped, a connection that hung is reset when the mode leaves ``hang``.
- ``http_status(code, headers, body)``: every HTTP/1.1 request on any connection, new or open,
  is answered by the proxy itself with that status (keep-alive kept), e.g. 500, or 429 with
  ``{"Retry-After": "1"}``. The default body is JSON shaped like a Stripe error. Requests need a
  Content-Length (or no body); chunked request bodies are not supported. An open connection's
  upstream is closed when it first gets a canned answer.
- ``cut``: every open connection is reset (RST, as when a server or a network path dies) and
  new ones are refused, as in ``refuse``.

Bounded: one accept thread and one thread per connection, all polling a stop flag every
`POLL_SECONDS`; `close()` (or leaving the `with` block) stops and joins every thread. Counters
`accepted` and `http_answers` tell a test what the proxy saw.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import threading
from http import HTTPStatus
from typing import Any

POLL_SECONDS = 0.05
JOIN_SECONDS = 2.0
CHUNK = 65536
MODES = ("pass", "refuse", "hang", "http", "cut")


def stripe_error_body(status: int) -> bytes:
    """A JSON error body shaped like Stripe's for `status` (429: a rate-limit error)."""
    if status == 429:
        error = {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly (injected by FaultProxy).",
        }
    else:
        error = {"type": "api_error", "message": f"Injected HTTP {status} from FaultProxy."}
    return json.dumps({"error": error}).encode()


def _reset(sock: socket.socket | None) -> None:
    """Close `sock` with an RST (SO_LINGER 0) instead of an orderly FIN."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _stop_listening(listener: socket.socket | None) -> None:
    """Stop listening at once: shutdown() first, as close() waits for a blocked accept()."""
    if listener is not None:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        _close(listener)


class _Connection:
    """One accepted client and (in pass mode) its upstream socket, pumped by one thread."""

    def __init__(self, proxy: FaultProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.hung = False
        self.reset_requested = False
        self.request_buffer = b""
        self.thread = threading.Thread(target=self._run, name="fault-proxy-conn", daemon=True)

    def _run(self) -> None:
        try:
            while not self.proxy._stopping.is_set() and not self.reset_requested:
                mode = self.proxy.mode
                if self.hung and mode != "hang":
                    break  # bytes were dropped while hanging: this stream is broken for good
                if mode == "hang":
                    self.hung = True
                    if not self._drain_client():
                        break
                elif mode == "http":
                    if self.upstream is not None:
                        _close(self.upstream)
                        self.upstream = None
                    if not self._answer_http():
                        break
                elif mode == "cut" or not self._pump():
                    break
            _reset(self.client)
            _reset(self.upstream)
        finally:
            self.proxy._forget(self)

    def _readable(self, *socks: socket.socket) -> list[socket.socket]:
        try:
            ready, _, _ = select.select(list(socks), [], [], POLL_SECONDS)
        except (OSError, ValueError):
            return []
        return ready

    def _drain_client(self) -> bool:
        """Read and drop what the client sends; False once it has gone."""
        if self.client in self._readable(self.client):
            try:
                return bool(self.client.recv(CHUNK))
            except OSError:
                return False
        return True

    def _pump(self) -> bool:
        """Forward one round of bytes both ways; False when either side has closed."""
        if self.upstream is None:
            try:
                self.upstream = socket.create_connection(self.proxy.target, timeout=5)
                self.upstream.settimeout(None)
            except OSError:
                return False
        for sock in self._readable(self.client, self.upstream):
            other = self.upstream if sock is self.client else self.client
            try:
                data = sock.recv(CHUNK)
                if not data:
                    return False
                other.sendall(data)
            except OSError:
                return False
        return True

    def _answer_http(self) -> bool:
        """Answer each complete HTTP request with the canned response; False when done."""
        if self.client in self._readable(self.client):
            try:
                data = self.client.recv(CHUNK)
            except OSError:
                return False
            if not data:
                return False
            self.request_buffer += data
        while True:
            head_end = self.request_buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return True
            length = 0
            for line in self.request_buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            end = head_end + 4 + length
            if len(self.request_buffer) < end:
                return True
            self.request_buffer = self.request_buffer[end:]
            with self.proxy._lock:  # counted before sending, so a client that read it sees it
                self.proxy.http_answers += 1
            try:
                self.client.sendall(self.proxy._http_response())
            except OSError:
                return False


class FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 in front of `target_host:target_port`.

    `port` is chosen free unless given, and stays the same across `refuse`/`cut` and back.
    Switch modes with `passthrough()`, `refuse()`, `hang()`, `http_status()`, `cut()` (or
    `set_mode()`); each takes effect within `POLL_SECONDS` on open connections. `address` is
    ``"127.0.0.1:port"``. `close()` stops everything and is idempotent.
    """

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.mode = "pass"
        self.accepted = 0
        self.http_answers = 0
        self._http: tuple[int, dict[str, str], bytes] = (500, {}, stripe_error_body(500))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[_Connection] = set()
        self._listener: socket.socket | None = None
        self.port = port
        self._listen()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="fault-proxy-accept", daemon=True
        )
        self._accept_thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- switching ---------------------------------------------------------------------------

    def passthrough(self) -> None:
        """Forward bytes both ways (listening again if refused or cut)."""
        self.set_mode("pass")

    def refuse(self) -> None:
        """Refuse new connections (listening socket closed); open ones keep working."""
        self.set_mode("refuse")

    def hang(self) -> None:
        """Accept and read, never answer; open connections hang too."""
        self.set_mode("hang")

    def cut(self) -> None:
        """Reset every open connection and refuse new ones."""
        self.set_mode("cut")

    def http_status(
        self, code: int, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> None:
        """Answer every HTTP request itself with `code`, `headers` and `body` (JSON by default)."""
        with self._lock:
            self._http = (
                code,
                dict(headers or {}),
                stripe_error_body(code) if body is None else body,
            )
        self.set_mode("http")

    def set_mode(self, mode: str) -> None:
        """Switch to `mode` (one of MODES); closes or reopens the listening socket as needed."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
        with self._lock:
            self.mode = mode
            listening = mode not in ("refuse", "cut")
            if not listening and self._listener is not None:
                _stop_listening(self._listener)
                self._listener = None
            if mode == "cut":
                for connection in self._connections:
                    connection.reset_requested = True
        if listening and self._listener is None:
            self._listen()
        if mode == "cut":
            self._join_connections()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop accepting, reset every connection and join every thread (bounded)."""
        self._stopping.set()
        with self._lock:
            _stop_listening(self._listener)
            self._listener = None
        self._accept_thread.join(JOIN_SECONDS)
        self._join_connections()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        listener.settimeout(POLL_SECONDS)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stopping.wait(POLL_SECONDS)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue  # timed out, or the listener was closed by refuse/cut/close
            client.setblocking(True)
            connection = _Connection(self, client)
            with self._lock:
                if self.mode in ("refuse", "cut") or self._stopping.is_set():
                    _reset(client)
                    continue
                self.accepted += 1
                self._connections.add(connection)
            connection.thread.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _join_connections(self) -> None:
        with self._lock:
            threads = [c.thread for c in self._connections]
        for thread in threads:
            thread.join(JOIN_SECONDS)

    def _http_response(self) -> bytes:
        with self._lock:
            code, headers, body = self._http
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Injected"
        lines = [f"HTTP/1.1 {code} {reason}"]
        merged: dict[str, Any] = {"Content-Type": "application/json", **headers}
        merged["Content-Length"] = str(len(body))
        lines.extend(f"{name}: {value}" for name, value in merged.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
