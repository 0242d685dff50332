"""A tiny SMTP server on a free 127.0.0.1 port that keeps what it receives (plain SMTP only)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class SmtpSink:
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="smtp-sink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                self._session(connection)

    def _session(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")

        def reply(line: str) -> None:
            connection.sendall(line.encode() + b"\r\n")

        reply("220 sink.test ESMTP")
        mail_from, rcpt_to = "", []
        while line := reader.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                reply("250-sink.test")
                reply("250 8BITMIME")
            elif verb == "HELO":
                reply("250 sink.test")
            elif verb == "MAIL":
                mail_from = command.split(":", 1)[1].strip().strip("<>")
                reply("250 OK")
            elif verb == "RCPT":
                rcpt_to.append(command.split(":", 1)[1].strip().strip("<>"))
                reply("250 OK")
            elif verb == "DATA":
                reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data_line := reader.readline()) not in (b".\r\n", b""):
                    lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                self.received.append(Received(mail_from, rcpt_to, b"".join(lines)))
                mail_from, rcpt_to = "", []
                reply("250 OK: queued")
            elif verb == "QUIT":
                reply("221 Bye")
                break
            elif verb in ("RSET", "NOOP"):
                reply("250 OK")
            else:
                reply("502 Command not implemented")
