"""Real processes for fault tests: the shop under gunicorn, any background command, a fresh database.

- `BackgroundProcess(argv, env, log_path)`: a subprocess in its own process group, its stdout and
  stderr in one log file; `stop()` sends SIGTERM, waits, then SIGKILLs the group.
- `ShopServer(env, workers=2)`: ``gunicorn -c gunicorn.conf.py "shop:create_app()"`` on a free
  127.0.0.1 port, started when the `with` block opens and ready when /healthz answers 200.
- `prepare_database(url)`: drop and recreate PostgreSQL's ``public`` schema, then
  ``flask --app shop db upgrade`` (the migrations, as production runs them).
- `shop_env(...)`: the environment a shop process needs, for ShopServer or `flask --app shop ...`.

Every wait is bounded; nothing here outlives the test that started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.local_servers import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GUNICORN = str(VENV_BIN / "gunicorn")
FLASK = str(VENV_BIN / "flask")
FAULTS_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_faults"
TEST_SECRET_KEY = "fault-test-secret-key-long-enough-for-the-shop-0123456789"
TEST_WEBHOOK_SECRET = "whsec_fault_tests"


def shop_env(database_url: str, **more: str) -> dict[str, str]:
    """Environment for a shop process: development settings (production logging), no network.

    SHOP_ENV=development keeps the production log format and allows STRIPE_API_BASE (the
    emulator); production itself refuses both an emulator and memory rate limits. `more`
    overrides or adds any variable (STRIPE_API_BASE, MAIL_URL, RATELIMIT_STORAGE_URI, ...).
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONUNBUFFERED": "1",
        "SHOP_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SITE_URL": "http://shop.test",
        "RATELIMIT_STORAGE_URI": "memory://",
        "STRIPE_SECRET_KEY": "sk_test_faults",
        "STRIPE_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing listens: no Stripe call can leave
        "MAIL_URL": "",
    }
    env.update(more)
    return env


def prepare_database(database_url: str = FAULTS_DATABASE_URL, *, timeout: float = 60) -> None:
    """Empty the database at `database_url`, then run the migrations (`flask db upgrade`).

    PostgreSQL: drop and recreate the ``public`` schema. SQLite: delete the file. Raises
    RuntimeError with the command's output when the upgrade fails.
    """
    import sqlalchemy as sa

    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).unlink(missing_ok=True)
    else:
        engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
    result = subprocess.run(
        [FLASK, "--app", "shop", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=shop_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"db upgrade failed:\n{result.stdout}\n{result.stderr}")


class BackgroundProcess:
    """Run `argv` with exactly `env` in its own process group, output appended to `log_path`.

    `start()` returns self; `pid`, `alive`, `log_text()`, `wait_for_log(text, timeout)`,
    `signal(sig)`, `kill()` (SIGKILL the whole group) and `stop(grace)` (SIGTERM the group,
    wait up to `grace` seconds, then SIGKILL) are bounded. Usable as a context manager (starts
    on enter, stops on exit). With no `log_path` a temporary file is used and kept for reading.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: str | Path | None = None,
        *,
        cwd: str | Path = PROJECT_ROOT,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = Path(cwd)
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="fault-process-", suffix=".log")
            os.close(handle)
            log_path = name
        self.log_path = Path(log_path)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BackgroundProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() reaches its children too
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 10.0) -> bool:
        """True once `text` appears in the log, False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def signal(self, sig: int) -> None:
        """Send `sig` to the main process only."""
        if self.alive:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process group at once."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL the group; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # no stray child left behind
            os.killpg(self.pid, signal.SIGKILL)
        return self.process.returncode

    def __enter__(self) -> BackgroundProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def child_pids(pid: int) -> list[int]:
    """The live direct children of `pid` (read from /proc; Linux)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after its ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(entry.name))
    return sorted(children)


class ShopServer(BackgroundProcess):
    """The shop under gunicorn (./gunicorn.conf.py) on a free 127.0.0.1 port with `workers`.

    `env` is the whole environment (see `shop_env()`); HOST, PORT and WEB_CONCURRENCY are set
    here, so the real configuration file chooses the rest. `extra_args` go on gunicorn's command
    line (e.g. ``["--timeout", "5"]``). Entering the `with` block starts it and waits up to
    `ready_timeout` seconds for /healthz to answer 200 (RuntimeError with the log tail if not).
    `url(path)`, `worker_pids()`, `kill_worker(pid)` (SIGKILL one worker; the master starts a
    replacement), `wait_for_workers(n)` and `stop()` (SIGTERM, then SIGKILL) are bounded.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 2,
        log_path: str | Path | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = 20.0,
    ) -> None:
        self.port = free_port()
        self.workers = workers
        self.ready_timeout = ready_timeout
        env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        # No control socket: its default path ($HOME/.gunicorn) would be shared by parallel runs.
        argv = [GUNICORN, "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--no-control-socket"]
        argv += extra_args
        super().__init__([*argv, "shop:create_app()"], env, log_path)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def start(self) -> ShopServer:
        super().start()
        self.wait_until_ready(self.ready_timeout)
        return self

    def wait_until_ready(self, timeout: float) -> None:
        """Wait for /healthz to answer 200 and every worker to be up; RuntimeError if not."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            if not self.alive:
                break
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = None
            if status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        tail = "\n".join(self.log_text().splitlines()[-40:])
        self.stop()
        raise RuntimeError(f"gunicorn not ready (last /healthz status {status}):\n{tail}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's live children."""
        return child_pids(self.pid) if self.alive else []

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (the first by default), wait until it is gone; returns its pid."""
        pids = self.worker_pids()
        victim = pid if pid is not None else pids[0]
        if victim not in pids:
            raise ValueError(f"{victim} is not a worker of gunicorn {self.pid}")
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 5  # SIGKILL lands asynchronously: wait until it is gone
        while victim in self.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        return victim

    def wait_for_workers(self, count: int, timeout: float = 10.0) -> list[int]:
        """Wait until `count` workers run (after a kill the master forks a new one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == count:
                return pids
            time.sleep(0.05)
        return self.worker_pids()

    def __enter__(self) -> ShopServer:
        return self.start()
