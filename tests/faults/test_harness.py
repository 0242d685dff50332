"""The fault-injection harness does what its docstrings promise (each check bounded to seconds)."""

from __future__ import annotations

import contextlib
import http.client
import json
import smtplib
import socket
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.faults.proxy import FaultProxy
from tests.faults.servers import BackgroundProcess, ShopServer, prepare_database, shop_env
from tests.faults.smtp import SmtpServer, closed_port_url

TIMEOUT = 1.0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except OSError:
            return


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.server_address  # type: ignore[misc]
    server.shutdown()
    server.server_close()
    thread.join(2)


@pytest.fixture
def proxy(echo_server: tuple[str, int]) -> Iterator[FaultProxy]:
    with FaultProxy(*echo_server) as running:
        yield running


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT)


def echoes(sock: socket.socket, data: bytes = b"ping") -> bool:
    sock.sendall(data)
    return sock.recv(100) == data


def closed_by_peer(sock: socket.socket) -> bool:
    """True when the other end has closed or reset `sock` (reading gives EOF or ECONNRESET)."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def test_pass_forwards_both_ways(proxy):
    with connect(proxy) as sock:
        assert echoes(sock)
    assert proxy.accepted == 1


def test_refuse_closes_the_port_and_reopens_the_same_one(proxy):
    port = proxy.port
    with connect(proxy) as open_before:
        assert echoes(open_before)
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        assert echoes(open_before), "connections already open keep working"
    proxy.passthrough()
    assert proxy.port == port
    with connect(proxy) as sock:
        assert echoes(sock)


def test_hang_reads_and_never_answers_new_or_open_connections(proxy):
    with connect(proxy) as open_before:
        assert echoes(open_before)
        proxy.hang()
        with connect(proxy) as new:
            new.sendall(b"hello?")
            with pytest.raises(TimeoutError):
                new.recv(100)
        open_before.sendall(b"still there?")
        with pytest.raises(TimeoutError):
            open_before.recv(100)
        proxy.passthrough()
        time.sleep(0.2)
        assert closed_by_peer(open_before), "a hung stream lost bytes: it is reset, not resumed"
    with connect(proxy) as sock:
        assert echoes(sock)


def test_http_status_answers_every_request_itself_with_keep_alive(proxy):
    proxy.http_status(429, {"Retry-After": "1"})
    connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=TIMEOUT)
    for _ in range(2):
        connection.request("POST", "/v1/customers", body=b"email=a%40b.test")
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 429
        assert response.getheader("Retry-After") == "1"
        assert body["error"]["code"] == "rate_limit"
    connection.close()
    assert proxy.http_answers == 2

    proxy.http_status(500, body=b"{}")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://{proxy.address}/", timeout=TIMEOUT)
    assert error.value.code == 500 and error.value.read() == b"{}"


def test_cut_resets_open_connections_and_refuses_new_ones(proxy):
    with connect(proxy) as open_before:
        assert echoes(open_before)
        proxy.cut()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        assert closed_by_peer(open_before)
    proxy.passthrough()
    with connect(proxy) as sock:
        assert echoes(sock)


def test_close_ends_every_thread(echo_server):
    before = {t.ident for t in threading.enumerate()}
    proxy = FaultProxy(*echo_server)
    sockets = [connect(proxy) for _ in range(3)]
    for sock in sockets:
        assert echoes(sock)
    proxy.close()
    for sock in sockets:
        sock.close()
    leftover = [
        t for t in threading.enumerate() if t.ident not in before and t.name.startswith("fault")
    ]
    assert leftover == []


# -- SMTP -------------------------------------------------------------------------------------


def mail(to: str = "sam@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "shop@musclebox.test"
    message["To"] = to
    message["Subject"] = "Your box"
    message.set_content("It ships soon.")
    return message


def send(url_port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", url_port, timeout=TIMEOUT) as client:
        client.send_message(message)


def test_smtp_server_fails_and_recovers_on_one_address():
    with SmtpServer() as smtp:
        assert smtp.url == f"smtp://127.0.0.1:{smtp.port}"
        send(smtp.port, mail("first@example.com"))

        smtp.set_mode("tempfail")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(smtp.port, mail())
        assert refused.value.recipients["sam@example.com"][0] == 451

        smtp.set_mode("reject")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as rejected:
            send(smtp.port, mail())
        assert rejected.value.recipients["sam@example.com"][0] == 550

        smtp.set_mode("hang")
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
            send(smtp.port, mail())

        smtp.set_mode("refuse")
        with pytest.raises(ConnectionRefusedError):
            send(smtp.port, mail())

        smtp.set_mode("accept")
        send(smtp.port, mail("second@example.com"))
        messages = smtp.wait_for_messages(2, timeout=2)
        assert [m["To"] for m in messages] == ["first@example.com", "second@example.com"]
        assert smtp.envelopes[1] == ("shop@musclebox.test", ["second@example.com"])


def test_closed_port_url_refuses():
    port = int(closed_port_url().rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        send(port, mail())


# -- processes --------------------------------------------------------------------------------


def test_background_process_logs_and_stops(tmp_path):
    script = "import time\nprint('worker ready', flush=True)\nwhile True: time.sleep(0.1)"
    log = tmp_path / "worker.log"
    with BackgroundProcess([sys.executable, "-c", script], {}, log) as process:
        assert process.wait_for_log("worker ready", timeout=5)
        assert process.alive
    assert not process.alive
    assert process.process is not None and process.process.returncode is not None


def test_shop_server_runs_gunicorn_workers_and_replaces_a_killed_one(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    prepare_database(database_url)
    with ShopServer(shop_env(database_url), workers=2, log_path=tmp_path / "shop.log") as server:
        workers = server.worker_pids()
        assert len(workers) == 2
        victim = server.kill_worker()
        replaced = server.wait_for_workers(2)
        assert victim not in replaced and len(replaced) == 2
        with urllib.request.urlopen(server.url("/healthz"), timeout=5) as response:  # noqa: S310
            assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
        for path in ("/healthz?session_id=cs_test_capability", "/account/login/tok_capability"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(server.url(path), timeout=5).close()  # noqa: S310
    assert not server.alive
    access_log = [line for line in server.log_text().splitlines() if line.startswith("127.0.0.1 ")]
    assert '127.0.0.1 "GET /healthz HTTP/1.1" 200' in "\n".join(access_log)
    assert len(access_log) >= 3
    assert not [line for line in access_log if "capability" in line], "no capability in the log"
