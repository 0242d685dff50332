"""`make run`'s server: the shop with the Stripe emulator beside it, on local ports; `make reset`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop import PROJECT_ROOT, devserver
from shop.config import load_settings
from shop.devserver import StartupError
from shop.stripe_emulator.cli import announce_running_url, running_url, running_url_file
from shop.stripe_emulator.core import Emulator
from shop.stripe_emulator.testing import RunningEmulator
from tests.local_servers import dev_server_environment, free_port

from .stripe_emulator.conftest import Receiver


def _write_announcement(state: Path, url: str, pid: int) -> None:
    """An announcement as a process that was killed (or lives elsewhere) left it."""
    running_url_file(state).write_text(json.dumps({"url": url, "pid": pid}))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local test server)
        return response.read().decode()


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the demo content, made once and copied by each test."""
    folder = tmp_path_factory.mktemp("seeded")
    flask = [sys.executable, "-m", "flask", "--app", "shop"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [*flask, *command],
            env=dev_server_environment(folder),
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )
    return folder / "shop.sqlite3"


class DevServer:
    """`python -m shop.devserver` in a child process, its output in a file (never a pipe that
    nobody reads and that would fill up)."""

    def __init__(self, folder: Path, state: Path, shop_port: int, emulator_port: int) -> None:
        self.shop_url = f"http://127.0.0.1:{shop_port}"
        self.emulator_url = f"http://127.0.0.1:{emulator_port}"
        self.log = folder / f"devserver-{shop_port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "shop.devserver",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(shop_port),
                    "--emulator-port",
                    str(emulator_port),
                    "--emulator-state",
                    str(state),
                ],
                env=dev_server_environment(folder),
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, summary: bool) -> None:
        """Wait for the shop to answer, and for the summary to be printed when ``summary``."""
        deadline = time.monotonic() + 40
        answered = False
        while time.monotonic() < deadline and self.process.poll() is None:
            if answered and (not summary or "MuscleBox is running" in self.output()):
                return
            with contextlib.suppress(OSError):
                answered = answered or bool(_get(f"{self.shop_url}/healthz"))
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the dev server did not start:\n{self.output()}")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture
def start_devserver(tmp_path: Path, seeded_database: Path) -> Iterator:
    """Start dev servers sharing one database in ``tmp_path``; all stopped at the end."""
    shutil.copy(seeded_database, tmp_path / "shop.sqlite3")
    started: list[DevServer] = []

    def start(state: Path, summary: bool = False) -> DevServer:
        server = DevServer(tmp_path, state, free_port(), free_port())
        started.append(server)
        server.wait_ready(summary)
        return server

    yield start
    for server in started:
        server.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stripe_api(emulator_url: str, path: str, data: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        f"{emulator_url}{path}",
        data=urllib.parse.urlencode(data).encode() if data is not None else None,
        headers={"Authorization": f"Bearer {devserver.EMULATOR_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.read()


def _create_customer(emulator_url: str, email: str) -> str:
    return json.loads(_stripe_api(emulator_url, "/v1/customers", {"email": email}))["id"]


def _recorded_events(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT type, payload FROM webhook_events").fetchall()


def test_run_serves_the_shop_with_the_emulator_and_says_where_to_go_last(
    start_devserver, tmp_path: Path
) -> None:
    server = start_devserver(tmp_path / "emulator.sqlite3", summary=True)
    time.sleep(1.5)  # anything the start-up printed after the summary would be there by now
    lines = server.output().rstrip().splitlines()
    assert lines[-1].startswith("-----"), "the summary ends the start-up's output"
    start = max(i for i, line in enumerate(lines) if line.startswith("MuscleBox is running"))
    summary = "\n".join(lines[start:])
    for expected in (
        f"{server.shop_url}/",
        f"{server.shop_url}/dev/outbox",
        f"{server.emulator_url}/_emulator/",
        "--app shop create-admin you@example.com",
        f"--app shop stripe-clock advance --days 31 --url {server.emulator_url}",
    ):
        assert expected in summary, expected

    assert "Test mode — payments are simulated" in _get(f"{server.shop_url}/")
    assert "Subscribe" in _get(f"{server.shop_url}/boxes/musclebox")
    dashboard = _get(f"{server.emulator_url}/_emulator/")
    assert f"{server.shop_url}/webhooks/stripe" in dashboard, "the webhook endpoint is registered"
    assert "price.created" in dashboard, "the catalogue was synced to the emulator"


def test_a_restart_on_other_ports_moves_the_webhooks_and_sigterm_stops_everything(
    start_devserver, tmp_path: Path
) -> None:
    state = tmp_path / "emulator.sqlite3"
    first = start_devserver(state)
    announced = json.loads(running_url_file(state).read_text())
    assert announced == {"url": first.emulator_url, "pid": first.process.pid}
    workers = first.children()
    assert workers, "the job worker runs beside the shop"

    assert first.stop() == 0, first.output()
    assert "Traceback" not in first.output()
    assert not any(_alive(pid) for pid in workers), "SIGTERM stopped the worker too"
    assert not running_url_file(state).exists(), "the announcement went with the emulator"

    # An event the shop has not heard of yet, waiting in the state for the old address.
    with RunningEmulator(state_path=str(state)) as offline:
        waiting = offline.client().v1.customers.create(params={"email": "waiting@example.com"})
    # Something else now listens where the shop used to: it must hear nothing.
    old_address = Receiver(port=urllib.parse.urlsplit(first.shop_url).port or 0)
    try:
        second = start_devserver(state)
        customer = _create_customer(second.emulator_url, "moved@example.com")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            recorded = " ".join(
                payload for _, payload in _recorded_events(tmp_path / "shop.sqlite3")
            )
            if customer in recorded and waiting.id in recorded:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the shop on its new port missed events:\n{second.output()}")
        listed = json.loads(_stripe_api(second.emulator_url, "/v1/webhook_endpoints"))
        assert [e["url"] for e in listed["data"]] == [f"{second.shop_url}/webhooks/stripe"]
        assert old_address.requests == []
    finally:
        old_address.stop()


def test_reset_refuses_while_the_dev_server_runs_whatever_state_it_is_given(
    start_devserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "JOB_QUEUE_URL", "SHOP_ENV", "STRIPE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    server = start_devserver(tmp_path / devserver.DEFAULT_STATE_NAME)
    for given in (tmp_path / devserver.DEFAULT_STATE_NAME, tmp_path / "notes.sqlite3"):
        with pytest.raises(StartupError, match=f"an emulator answers at {server.emulator_url}"):
            devserver.reset(given, tmp_path)
    assert (tmp_path / "shop.sqlite3").exists() and (tmp_path / "jobs.sqlite3").exists()
    assert _get(f"{server.shop_url}/healthz"), "the shop still serves"


@pytest.mark.parametrize(
    ("busy", "named"),
    [("shop", "make run PORT="), ("emulator", "make run EMULATOR_PORT=")],
)
def test_a_port_in_use_is_one_clear_line(tmp_path: Path, busy: str, named: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"shop": free_port(), "emulator": free_port(), busy: taken}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "shop.devserver",
                "--port",
                str(ports["shop"]),
                "--emulator-port",
                str(ports["emulator"]),
                "--emulator-state",
                str(tmp_path / "emulator.sqlite3"),
            ],
            env=dev_server_environment(tmp_path),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert f"Port {taken} " in message and named in message
    assert not (tmp_path / "emulator.sqlite3").exists(), "nothing started"


def test_the_same_port_twice_is_refused() -> None:
    with pytest.raises(StartupError, match="two different ports"):
        devserver.check_ports(
            "127.0.0.1", {"the shop": (5000, "PORT", "--port"), "it": (5000, "X", "--x")}
        )


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A development instance folder holding the demo's data and what must survive a reset."""
    for name in ("DATABASE_URL", "JOB_QUEUE_URL", "SHOP_ENV", "STRIPE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    folder = tmp_path / "instance"
    (folder / "media").mkdir(parents=True)
    for name in (
        "shop.sqlite3",
        "shop.sqlite3-wal",
        "jobs.sqlite3",
        "stripe-emulator.sqlite3",
        "stripe-emulator-webhook-secret",
        "secret_key",
        "notes.txt",
        "media/hero.png",
    ):
        (folder / name).write_text("x")
    return folder


def test_reset_deletes_the_demo_data_and_nothing_else(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devserver.reset(instance / "stripe-emulator.sqlite3", instance)
    left = sorted(str(p.relative_to(instance)) for p in instance.rglob("*") if p.is_file())
    assert left == ["media/hero.png", "notes.txt"]
    said = capsys.readouterr().out
    assert "Deleted" in said and "starts the demo afresh" in said
    assert "SECRET_KEY is set in the environment" in said, "old sessions stay valid: said so"
    devserver.reset(instance / "stripe-emulator.sqlite3", instance)
    assert "Nothing to delete" in capsys.readouterr().out


def test_reset_makes_a_new_development_secret_key(
    instance: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A session cookie signed before the reset would sign its customer's id in as whoever
    # gets that id in the new database.
    monkeypatch.delenv("SECRET_KEY")
    (instance / "secret_key").unlink()
    before = load_settings(instance)["SECRET_KEY"]
    devserver.reset(instance / "stripe-emulator.sqlite3", instance)
    assert not (instance / "secret_key").exists()
    assert "SECRET_KEY is set" not in capsys.readouterr().out
    assert load_settings(instance)["SECRET_KEY"] != before

    (instance / "secret_key").unlink()
    devserver.reset(instance / "stripe-emulator.sqlite3", instance)
    assert "Nothing to delete" in capsys.readouterr().out, "reading the settings made no file"
    assert not (instance / "secret_key").exists()


def test_reset_refuses_an_emulator_state_outside_the_instance_folder(
    instance: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "x"
    elsewhere.mkdir()
    mine = [elsewhere / "notes.txt", elsewhere / "notes-webhook-secret", elsewhere / "notes-url"]
    for path in mine:
        path.write_text("x")
    for given in (elsewhere / "notes.txt", instance / ".." / "x" / "notes.txt"):
        with pytest.raises(StartupError, match="is not in") as refused:
            devserver.reset(given, instance)
        assert len(str(refused.value).splitlines()) == 1
    assert all(path.exists() for path in mine)
    assert (instance / "shop.sqlite3").exists() and (instance / "secret_key").exists()


def test_demo_files_are_all_inside_the_instance_folder(instance: Path, tmp_path: Path) -> None:
    settings = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'mine.sqlite3'}",
        "JOB_QUEUE_URL": f"sqlite:///{instance / 'jobs.sqlite3'}",
    }
    files = devserver.demo_files(instance, tmp_path / "elsewhere.sqlite3", settings)
    assert files and all(path.resolve().is_relative_to(instance.resolve()) for path in files)
    assert instance.resolve() / "jobs.sqlite3" in files


def test_reset_leaves_a_database_outside_the_instance_folder(
    instance: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "mine.sqlite3"
    elsewhere.write_text("x")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{elsewhere}")
    devserver.reset(instance / "stripe-emulator.sqlite3", instance)
    assert elsewhere.exists()
    assert (instance / "shop.sqlite3").exists(), "not the configured database: not touched"
    said = capsys.readouterr().out
    assert f"Left alone (not a SQLite file in {instance}; empty it yourself): sqlite:///" in said
    assert "afresh" not in said
    assert not (instance / "stripe-emulator.sqlite3").exists()


def test_reset_refuses_while_running_or_in_production(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = instance / "stripe-emulator.sqlite3"
    with RunningEmulator() as running:
        announce_running_url(state, running.base_url)  # this process: alive, and answering
        with pytest.raises(StartupError, match="while `make run` is running") as refused:
            devserver.reset(state, instance)
        assert str(running_url_file(state)) in str(refused.value), "the file is named"
        # `make run` keeps its state in instance/; a reset given another state still sees it.
        with pytest.raises(StartupError, match="while `make run` is running"):
            devserver.reset(instance / "other-emulator.sqlite3", instance)
    assert (instance / "shop.sqlite3").exists() and (instance / "shop.sqlite3-wal").exists()
    assert (instance / "jobs.sqlite3").exists() and (instance / "secret_key").exists()
    running_url_file(state).unlink()
    monkeypatch.setenv("SHOP_ENV", "production")
    with pytest.raises(StartupError, match="Not resetting"):
        devserver.reset(state, instance)
    assert (instance / "shop.sqlite3").exists() and state.exists()


def test_a_stale_announcement_whose_pid_lives_blocks_neither_run_nor_reset(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # After kill -9 or a reboot the announced pid may be another, living, process's (here 1).
    state = instance / "stripe-emulator.sqlite3"
    run_state = instance / "run-emulator.sqlite3"
    _write_announcement(run_state, f"http://127.0.0.1:{free_port()}", 1)  # nothing listens there
    assert running_url(run_state) is None
    started = devserver.EmulatorServer("127.0.0.1", free_port(), "http://127.0.0.1:5000", run_state)
    try:
        assert running_url(run_state) == started.url, "announced afresh"
    finally:
        started.stop()

    not_an_emulator = Receiver()  # answers GET /_emulator/clock with an error page
    try:
        announced = urllib.parse.urlsplit(not_an_emulator.url)
        _write_announcement(state, f"http://{announced.netloc}", 1)
        devserver.reset(state, instance)
    finally:
        not_an_emulator.stop()
    assert "Deleted" in capsys.readouterr().out
    assert not (instance / "shop.sqlite3").exists() and not running_url_file(state).exists()


def test_an_announcement_off_loopback_is_never_asked_and_blocks_reset_by_name(
    instance: Path,
) -> None:
    state = instance / "stripe-emulator.sqlite3"
    _write_announcement(state, "http://192.0.2.1:12111", 1)  # TEST-NET: must not be contacted
    assert running_url(state) is None
    with pytest.raises(StartupError, match="could not be asked") as refused:
        devserver.reset(state, instance)
    assert f"delete {running_url_file(state)}" in str(refused.value)
    assert (instance / "shop.sqlite3").exists()


def test_the_emulator_on_ipv6_loopback_has_a_bracketed_url(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        port = probe.getsockname()[1]
    emulator = devserver.EmulatorServer("::1", port, "http://[::1]:5000", tmp_path / "e.sqlite3")
    try:
        assert emulator.url == f"http://[::1]:{port}"
        assert json.loads(_get(f"{emulator.url}/_emulator/clock"))["now"] > 0
        assert running_url(tmp_path / "e.sqlite3") == emulator.url
    finally:
        emulator.stop()


def test_a_port_taken_after_the_check_is_one_line_and_the_state_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Emulator] = []
    close = Emulator.close

    def recording_close(self: Emulator) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Emulator, "close", recording_close)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(StartupError, match=f"Port {taken} on 127.0.0.1") as refused:
            devserver.EmulatorServer(
                "127.0.0.1", taken, "http://127.0.0.1:5000", tmp_path / "e.sqlite3"
            )
    assert len(str(refused.value).splitlines()) == 1
    assert len(closed) == 1, "the emulator's state was closed"
    assert not running_url_file(tmp_path / "e.sqlite3").exists()


def test_a_request_broken_by_the_stop_is_not_printed_as_a_fault(capsys) -> None:
    server = devserver._bind("127.0.0.1", free_port(), lambda environ, start: [], "a test server")

    def request_breaks() -> str:
        try:
            raise OSError(9, "Bad file descriptor")
        except OSError:
            server.handle_error(None, ("127.0.0.1", 40000))
        return capsys.readouterr().err

    assert "Exception occurred during processing of request" in request_breaks()
    devserver.close_server(server)
    assert request_breaks() == ""


def test_after_sigterm_a_connection_closed_under_its_thread_is_not_printed(capsys) -> None:
    """SIGTERM can land just after a connection was handed to its thread: socketserver closes
    the connection under that thread, which then reads EBADF. That is the stop, not a fault."""
    server = devserver._bind("127.0.0.1", free_port(), lambda environ, start: [], "a test server")
    try:
        with pytest.raises(SystemExit):
            devserver._exit_on_signal(signal.SIGTERM, None)
        try:
            raise OSError(9, "Bad file descriptor")
        except OSError:
            server.handle_error(None, ("127.0.0.1", 40000))
        assert capsys.readouterr().err == ""
    finally:
        devserver._STOPPING.clear()
        devserver.close_server(server)
