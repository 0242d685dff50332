"""`make run`'s server: the shop with the Stripe emulator beside it, on local ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shop import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local test server)
        return response.read().decode()


@pytest.fixture
def devserver(tmp_path: Path):  # type: ignore[no-untyped-def]
    shop_port, emulator_port = _free_port(), _free_port()
    database = tmp_path / "shop.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "SITE_URL", "DATABASE_URL", "SHOP_ENV"))
    }
    env.update(DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="x" * 40)
    flask = [sys.executable, "-m", "flask", "--app", "shop"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [*flask, *command], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shop.devserver",
            "--port",
            str(shop_port),
            "--emulator-port",
            str(emulator_port),
            "--emulator-state",
            str(tmp_path / "emulator.sqlite3"),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    shop_url = f"http://127.0.0.1:{shop_port}"
    try:
        for _ in range(100):
            try:
                _get(f"{shop_url}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        else:
            process.kill()
            pytest.fail(process.communicate()[0].decode())
        yield shop_url, f"http://127.0.0.1:{emulator_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_run_serves_the_shop_with_the_emulator_and_the_test_banner(devserver):
    shop_url, emulator_url = devserver
    assert "Test mode — payments are simulated" in _get(f"{shop_url}/")
    assert "Subscribe" in _get(f"{shop_url}/boxes/musclebox")
    dashboard = _get(f"{emulator_url}/_emulator/")
    assert f"{shop_url}/webhooks/stripe" in dashboard, "the shop's webhook endpoint is registered"
    assert "price.created" in dashboard, "the catalogue was synced to the emulator"
