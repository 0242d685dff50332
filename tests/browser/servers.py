"""The shop as `make run` serves it, for the browser journeys: on free local ports, with a fresh
database, the Stripe emulator, the job worker and the development outbox.

It runs in its own process (`python -m shop.devserver`), so the browser talks to it over HTTP
exactly as a person would, and the journeys read its database only through its pages.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from shop import PROJECT_ROOT
from tests.local_servers import dev_server_environment, free_port

ADMIN_EMAIL = "owner@example.com"
ADMIN_PASSWORD = "correct horse battery staple"  # a throwaway admin of a throwaway database
STARTUP_SECONDS = 60


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a local test server)
            return response.status == 200
    except OSError:
        return False


@dataclass
class ShopServers:
    """One running shop (with its emulator and worker) and how to reach it."""

    folder: Path
    shop_port: int = field(default_factory=free_port)
    emulator_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    article_path: str = ""  # the client's article, or the newest demo article without it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.shop_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def log(self) -> Path:
        return self.folder / "devserver.log"

    def environment(self) -> dict[str, str]:
        env = dev_server_environment(self.folder, secret_key="browser-journeys-" + "k" * 32)
        env.update(
            SITE_URL=self.url,
            PYTHONUNBUFFERED="1",
            # Every browser here is a different person on the same address, 127.0.0.1, and the
            # limits count per address: they are raised so that the journeys do not trip over each
            # other (the limits themselves are tested over HTTP, e.g. tests/accounts).
            CUSTOMER_LOGIN_RATE_LIMIT="300 per minute",
            ADMIN_LOGIN_RATE_LIMIT="300 per minute",
            ACCOUNT_CHANGE_RATE_LIMIT="300 per minute",
            COMMENT_RATE_LIMIT="300 per minute",
            COMMENT_FLOOD_SECONDS="0",
        )
        return env

    def flask(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "shop", *args],
            env=self.environment(),
            cwd=PROJECT_ROOT,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(
                f"flask {' '.join(args)} failed:\n{result.stdout.decode()}{result.stderr.decode()}"
            )
        return result.stdout.decode()

    def prepare(self, article: Path | None) -> None:
        """What `make run` does before serving: schema, demo content, the client's article, an admin.

        Without the client's article (a clone without `../shared/content` beside it) the journeys
        use the newest demo article, a full article page with comments all the same.
        """
        self.flask("db", "upgrade")
        self.flask("seed-demo")
        if article is not None:
            imported = self.flask("import-article", str(article))
            self.article_path = imported.split("Imported ", 1)[1].split(" ", 1)[0]
        else:
            with closing(sqlite3.connect(self.folder / "shop.sqlite3")) as database:
                (slug,) = database.execute(
                    "SELECT slug FROM articles WHERE status = 'published' "
                    "ORDER BY published_at DESC LIMIT 1"
                ).fetchone()
            self.article_path = f"/blog/{slug}"
        self.flask("create-admin", ADMIN_EMAIL, "--password-stdin", stdin=ADMIN_PASSWORD + "\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shop.devserver",
                "--port",
                str(self.shop_port),
                "--emulator-port",
                str(self.emulator_port),
                "--emulator-state",
                str(self.folder / "emulator.sqlite3"),
            ],
            env=self.environment(),
            cwd=PROJECT_ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its job worker is its child: stopped together, as a group
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the shop did not start:\n{self.log.read_text()}")
            if _answers(f"{self.url}/healthz") and _answers(f"{self.emulator_url}/_emulator/"):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the shop did not answer in {STARTUP_SECONDS} s:\n{self.log.read_text()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
