"""Helpers for tests that start real servers on this machine: a free port, and the environment
of a development shop whose data all lives in one folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    """A port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_server_environment(folder: Path, secret_key: str = "x" * 40) -> dict[str, str]:
    """This process's environment for a development shop (`python -m shop.devserver`) whose
    database, job queue and uploads all live in `folder`; nothing of a real shop is inherited."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("STRIPE_", "SITE_URL", "DATABASE_URL", "SHOP_ENV", "JOB_QUEUE", "PAGE_CACHE")
        )
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'shop.sqlite3'}",
        JOB_QUEUE_URL=f"sqlite:///{folder / 'jobs.sqlite3'}",
        MEDIA_DIR=str(folder / "media"),
        SECRET_KEY=secret_key,
    )
    return env
