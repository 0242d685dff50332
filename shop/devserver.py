"""`make run`: the shop on http://127.0.0.1:5000, with the Stripe emulator and the job worker
beside it; `make reset` (`--reset`) deletes the demo's data so the next `make run` starts afresh.

When STRIPE_SECRET_KEY is unset, the emulator starts on 127.0.0.1:12111 (state kept in
instance/stripe-emulator.sqlite3, so a demo survives a restart), the shop's webhook endpoint
is registered with it, the catalogue is synced to it, and the shop talks to it through the
real stripe library. With a real key set, the shop talks to Stripe and no emulator starts.

- Ports: `--port` and `--emulator-port` (`make run PORT=5055 EMULATOR_PORT=12112`). Both are
  bound before anything starts; a port in use stops start-up with one line naming it and a
  free one to pick instead.
- The webhook endpoint follows the shop: it is the dev server's own (`managed_by` in its
  metadata), so a start on another port moves it there and removes any other of its endpoints;
  events never go to the port of an earlier run. Endpoints someone else registered stay.
- While the emulator runs its URL is announced beside its state (instance/stripe-emulator-url),
  so `flask --app shop stripe-clock advance --days 31` finds it without `--url`.
- The job worker (`flask --app shop worker`) runs as a child process with the same settings.
  Ctrl+C or SIGTERM stops the worker, the emulator (its state saved) and the shop, and removes
  the announcement.
- `make reset` refuses while an emulator answers at the URL announced in instance/ (for its
  default state or the one given), refuses a state outside instance/, and deletes files in
  instance/ only (see `demo_files`), the development secret key among them.
- What a newcomer needs (the shop, the outbox, the emulator's dashboard, how to create an admin
  and move the clock) is printed last, once the start-up's webhooks and jobs are done.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from types import FrameType
from typing import IO, Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import BaseWSGIServer, make_server

from shop import PROJECT_ROOT, create_app
from shop.logs import RedactedRequestHandler
from shop.stripe_emulator.cli import (
    DEFAULT_STATE_NAME,
    Announced,
    announce_running_url,
    announced_emulator,
    http_url,
    reachable_url,
    running_url_file,
    withdraw_running_url,
)
from shop.stripe_emulator.testing import QuietHandler

EMULATOR_KEY = "sk_test_emulator"
# Names the dev server's webhook endpoint in the emulator (its metadata's managed_by).
ENDPOINT_OWNER = "shop.devserver"
INSTANCE = PROJECT_ROOT / "instance"
DEFAULT_STATE = INSTANCE / DEFAULT_STATE_NAME
# The summary waits at most this long for the start-up's webhooks and jobs to settle.
SETTLE_SECONDS = 20.0
# The worker counts as settled once it has printed nothing for this long.
QUIET_SECONDS = 1.0


class StartupError(Exception):
    """Start-up cannot go on; the message is one line saying what to do."""


def webhook_secret_file(state_path: Path) -> Path:
    """Where the development webhook secret is kept, beside the emulator's state."""
    return state_path.with_name(state_path.stem + "-webhook-secret")


def _webhook_secret(state_path: Path) -> str:
    """The development webhook secret, made once and kept beside the emulator's state."""
    path = webhook_secret_file(state_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("whsec_" + secrets.token_hex(24))
        path.chmod(0o600)
    return path.read_text().strip()


# -- ports ---------------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (bound as werkzeug binds: reusing
    addresses in TIME_WAIT, so a port just released by a stopped server counts as free)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _free_port_near(host: str, port: int, taken: set[int]) -> int | None:
    for candidate in range(port + 1, min(port + 100, 65536)):
        if candidate not in taken and _port_free(host, candidate):
            return candidate
    return None


def check_ports(host: str, ports: dict[str, tuple[int, str, str]]) -> None:
    """Raise StartupError naming the first port that is in use and a free one to use instead.

    ``ports`` maps what listens (e.g. "the shop") to (port, make variable, devserver flag).
    """
    chosen = {port for port, _, _ in ports.values()}
    if len(chosen) < len(ports):
        raise StartupError(
            "The shop and the Stripe emulator need two different ports: "
            + ", ".join(f"{what} has {port}" for what, (port, _, _) in ports.items())
            + "."
        )
    for what, (port, variable, flag) in ports.items():
        if _port_free(host, port):
            continue
        other = _free_port_near(host, port, chosen)
        suggestion = (
            f"pick another, e.g. `make run {variable}={other}` (or {flag} {other})"
            if other
            else f"pick another with `make run {variable}=...` (or {flag} ...)"
        )
        raise StartupError(
            f"Port {port} on {host} ({what}) is already in use, perhaps by another `make run`: "
            f"stop that, or {suggestion}."
        )


# -- the emulator and the worker -----------------------------------------------------------------


def _running_message(found: Announced) -> str:
    """How a running (or possibly running) emulator is named in a refusal: with the file that
    announces it, so a person who knows better can delete that by hand."""
    if found.confirmed:
        return f"an emulator answers at {found.url}, announced in {found.file}"
    return (
        f"{found.file} announces an emulator at {found.url} whose process still runs and that "
        f"could not be asked; if no `make run` runs, delete {found.file}"
    )


def _bind(host: str, port: int, app: Any, what: str, **options: Any) -> BaseWSGIServer:
    """make_server on a socket bound here, so that a port taken since `check_ports` is one
    line (werkzeug prints its own lines and exits when it cannot bind)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise StartupError(
            f"Port {port} on {host} ({what}) could not be opened ({exc.strerror or exc}): "
            "another program took it just now; start again, or pick another port."
        ) from exc
    with listener:  # werkzeug serves a duplicate of it
        server = make_server(host, port, app, threaded=True, fd=listener.fileno(), **options)
    quiet_once_closing(server)
    return server


def quiet_once_closing(server: BaseWSGIServer) -> None:
    """Once the dev server is stopping (SIGTERM, Ctrl+C, or `close_server`), a request still in
    flight that breaks is not printed as a traceback: it is the stop, not a fault. (The signal
    can land just after a connection was handed to its thread; socketserver then closes that
    connection under the thread, which reads EBADF.) Before that, errors are printed as ever."""
    print_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not _STOPPING.is_set() and server not in _CLOSING:
            print_error(request, client_address)

    server.handle_error = handle_error


_CLOSING: weakref.WeakSet[BaseWSGIServer] = weakref.WeakSet()
_STOPPING = threading.Event()


def close_server(server: BaseWSGIServer) -> None:
    _CLOSING.add(server)
    server.server_close()


class EmulatorServer:
    """The Stripe emulator served from a thread of this process, its URL announced."""

    def __init__(self, host: str, port: int, shop_url: str, state_path: Path) -> None:
        from shop.stripe_emulator import create_emulator_app

        self.url = http_url(host, port)
        self.state_path = state_path
        already = announced_emulator(state_path, others_only=True)
        if already:
            raise StartupError(
                f"Another emulator may be serving {state_path} ({_running_message(already)}): "
                "stop that `make run` first (two would overwrite each other's state)."
            )
        state_path.parent.mkdir(parents=True, exist_ok=True)
        self.secret = _webhook_secret(state_path)
        # Deliveries start only once the endpoint has moved: those left pending by an earlier
        # run would go to its address otherwise.
        self.app = create_emulator_app(
            state_path=str(state_path),
            public_base_url=self.url,
            api_key=EMULATOR_KEY,
            deliver_async=False,
        )
        self.state = self.app.extensions["stripe_emulator"]
        try:
            self.server = _bind(
                host, port, self.app, "the Stripe emulator", request_handler=QuietHandler
            )
            self.state.ensure_webhook_endpoint(
                f"{shop_url}/webhooks/stripe", secret=self.secret, owner=ENDPOINT_OWNER
            )
        except BaseException:
            self.state.close()
            raise
        self.state.worker.start()
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="stripe-emulator", daemon=True
        )
        self.thread.start()
        announce_running_url(state_path, reachable_url(host, port))

    def settings(self) -> dict[str, str]:
        """The environment that points the shop (and its worker) at this emulator."""
        return {
            "STRIPE_SECRET_KEY": EMULATOR_KEY,
            "STRIPE_API_BASE": self.url,
            "STRIPE_WEBHOOK_SECRET": self.secret,
        }

    def deliveries_pending(self) -> bool:
        with self.state.lock:
            return any(d["status"] == "pending" for d in self.state.data["deliveries"].values())

    def stop(self) -> None:
        withdraw_running_url(self.state_path)
        _CLOSING.add(self.server)
        self.server.shutdown()
        close_server(self.server)
        self.state.close()


class Worker:
    """`flask --app shop worker` in a child process; its output is passed on line by line, so
    the dev server knows when it has gone quiet."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.started = threading.Event()
        self.last_output = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "shop", "worker"],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._relay, name="worker-output", daemon=True).start()

    def _relay(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.last_output = time.monotonic()
            self.started.set()
            with contextlib.suppress(OSError, ValueError):
                self.out.write(line)
                self.out.flush()
        self.started.set()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the summary ---------------------------------------------------------------------------------


def _flask_command() -> str:
    """How to call this virtualenv's `flask` from the current folder."""
    flask = Path(sys.executable).parent / "flask"
    if not flask.exists():
        return "flask --app shop"
    with contextlib.suppress(ValueError):
        flask = flask.relative_to(Path.cwd())
    return f"{flask} --app shop"


def summary(
    shop_url: str, emulator_url: str | None, outbox: bool, clock_needs_url: bool
) -> list[str]:
    """The lines printed once everything runs: where to go and the two commands to know."""
    flask = _flask_command()
    rows = [("The shop", f"{shop_url}/")]
    if outbox:
        rows.append(("Emails (outbox)", f"{shop_url}/dev/outbox"))
    if emulator_url:
        rows.append(("Stripe emulator", f"{emulator_url}/_emulator/"))
        rows.append(("Test card", "4242 4242 4242 4242 pays"))
    rows.append(("Admin", f"{shop_url}/admin/login"))
    rows.append(("  make an admin", f"{flask} create-admin you@example.com"))
    if emulator_url:
        clock = f"{flask} stripe-clock advance --days 31"
        if clock_needs_url:
            clock += f" --url {emulator_url}"
        rows.append(("Move the clock", clock))
    width = max(len(label) for label, _ in rows)
    rule = "-" * 72
    return [
        rule,
        "MuscleBox is running (Ctrl+C stops the shop, the worker and the emulator)",
        *(f"  {label.ljust(width)}  {value}" for label, value in rows),
        rule,
    ]


def _print_when_settled(
    lines: list[str], worker: Worker, emulator: EmulatorServer | None, queue: Any
) -> None:
    """Print ``lines`` once the worker is up and quiet and the start-up's webhooks and jobs are
    done (at most SETTLE_SECONDS), so they end the start-up's output instead of scrolling away."""
    deadline = time.monotonic() + SETTLE_SECONDS
    worker.started.wait(SETTLE_SECONDS)
    while time.monotonic() < deadline:
        busy = worker.quiet_for() < QUIET_SECONDS or (emulator and emulator.deliveries_pending())
        if not busy:
            try:
                busy = queue.pending_count() > 0
            except Exception:  # the summary must not fail over a queue it cannot read
                busy = False
        if not busy:
            break
        time.sleep(0.1)
    print("\n".join(lines), flush=True)


# -- reset ---------------------------------------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _with_companions(path: Path) -> list[Path]:
    """A SQLite file and its journal, write-ahead log and shared-memory files."""
    return [path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))]


def demo_files(instance: Path, state_path: Path, settings: dict[str, Any]) -> list[Path]:
    """The files `make reset` deletes: the development database and the job queue (when SQLite
    files; the queue's jobs name rows of that database), the emulator's state, its webhook secret
    and its URL announcement, and the development secret key (sessions signed with it would
    sign a new customer in as an old one who had the same id). Only files inside ``instance``,
    whatever the settings and ``state_path`` say; nothing else there, not uploaded images."""
    instance = instance.resolve()
    state_path = state_path.resolve()
    files: list[Path] = []
    for url in (settings["SQLALCHEMY_DATABASE_URI"], settings["JOB_QUEUE_URL"]):
        database = _sqlite_file(str(url))
        if database is not None:
            files += _with_companions(database)
    files += _with_companions(state_path)
    files += [webhook_secret_file(state_path), running_url_file(state_path)]
    files.append(instance / "secret_key")
    return [path for path in files if path.resolve().is_relative_to(instance)]


def reset(state_path: Path, instance: Path = INSTANCE) -> None:
    """Delete the demo's data (see `demo_files`), printing what went; StartupError when that is
    not safe (production settings, an emulator state outside ``instance``, an emulator that
    runs for this instance)."""
    from shop.config import ConfigError, load_settings

    if not state_path.resolve().is_relative_to(instance.resolve()):
        raise StartupError(
            f"Not resetting: the emulator state {state_path} is not in {instance}; "
            "`make reset` deletes only files there (delete that one yourself if you mean to)."
        )
    secret_key = instance / "secret_key"
    secret_key_existed = secret_key.exists()
    try:
        settings = load_settings(instance)
    except ConfigError as exc:
        raise StartupError(f"Not resetting: {exc}") from exc
    finally:
        if not secret_key_existed:  # made just now by load_settings: not the demo's
            secret_key.unlink(missing_ok=True)
    if settings["SHOP_ENV"] != "development":
        raise StartupError("Not resetting: `make reset` is for development (SHOP_ENV is not).")
    for state in dict.fromkeys((instance / DEFAULT_STATE_NAME, state_path)):
        found = announced_emulator(state)
        if found:
            raise StartupError(
                f"Not resetting while `make run` is running ({_running_message(found)})."
            )
    kept = []
    for url in (settings["SQLALCHEMY_DATABASE_URI"], settings["JOB_QUEUE_URL"]):
        path = _sqlite_file(str(url))
        if path is None or not path.is_relative_to(instance.resolve()):
            kept.append(make_url(str(url)).render_as_string(hide_password=True))
    removed = [path for path in demo_files(instance, state_path, settings) if path.exists()]
    for path in removed:
        path.unlink()
        print(f"Deleted {path}")
    for url in kept:
        print(f"Left alone (not a SQLite file in {instance}; empty it yourself): {url}")
    if not removed:
        print("Nothing to delete: the demo's files are gone already.")
    if os.environ.get("SECRET_KEY", "").strip():
        print(
            "SECRET_KEY is set in the environment (or .env): sessions signed before the reset "
            "stay valid unless you change it."
        )
    if not kept:
        print("The next `make run` starts the demo afresh.")


# -- main ----------------------------------------------------------------------------------------


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """Leave through the normal exit path, so the worker and the emulator are stopped too."""
    _STOPPING.set()
    raise SystemExit(0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--emulator-port", type=int, default=12111)
    parser.add_argument(
        "--emulator-state",
        type=Path,
        default=DEFAULT_STATE,
        help="SQLite file keeping the emulator's state across restarts",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete the development database and the emulator's state, then exit",
    )
    return parser


def serve(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """Start everything, registering each stop on ``stack``; returns when the shop stops."""
    shop_url = http_url(args.host, args.port)
    use_emulator = not os.environ.get("STRIPE_SECRET_KEY")
    ports = {"the shop": (args.port, "PORT", "--port")}
    if use_emulator:
        ports["the Stripe emulator"] = (args.emulator_port, "EMULATOR_PORT", "--emulator-port")
    check_ports(args.host, ports)

    os.environ.setdefault("SHOP_DEV_OUTBOX", "1")  # read your emails at /dev/outbox
    os.environ.setdefault("SITE_URL", shop_url)
    emulator = None
    if use_emulator:
        emulator = EmulatorServer(args.host, args.emulator_port, shop_url, args.emulator_state)
        stack.callback(emulator.stop)
        os.environ.update(emulator.settings())

    app = create_app()
    # Bound now, before the catalogue sync sends its first webhook: the emulator's deliveries
    # wait in the listen queue instead of being refused. Its access log leaves out sign-in
    # tokens and query strings (checkout session ids).
    server = _bind(args.host, args.port, app, "the shop", request_handler=RedactedRequestHandler)
    stack.callback(close_server, server)
    worker = Worker(sys.stdout.buffer)
    stack.callback(worker.stop)
    with app.app_context():
        from shop.billing.gateway import gateway
        from shop.catalog.services import sync_catalogue

        try:
            for line in sync_catalogue(gateway()):
                print(f"sync-stripe: {line}", flush=True)
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StartupError(
                f"The shop's database is not ready ({reason}): `make run` prepares it; by hand, "
                f"run `{_flask_command()} db upgrade` (and `seed-demo` for the demo) first."
            ) from exc

    lines = summary(
        shop_url,
        emulator.url if emulator else None,
        outbox=bool(app.config["DEV_OUTBOX"]),
        clock_needs_url=bool(emulator) and args.emulator_state.resolve() != DEFAULT_STATE,
    )
    threading.Thread(
        target=_print_when_settled,
        args=(lines, worker, emulator, app.extensions["huey"]),
        name="summary",
        daemon=True,
    ).start()
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    try:
        if args.reset:
            reset(args.emulator_state)
            return
        with contextlib.ExitStack() as stack:
            serve(args, stack)
    except StartupError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
