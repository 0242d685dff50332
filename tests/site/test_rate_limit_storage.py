"""Rate limits work with shared Redis storage, as production requires."""

from __future__ import annotations

import socket
import uuid

import pytest
import redis

from tests.builders.content import make_article
from tests.helpers import post_comment

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_running() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def app_settings():
    if not _redis_running():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        # A fresh key space per run, so earlier runs' counters cannot interfere.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "COMMENT_RATE_LIMIT": "2 per minute",
    }


def test_comment_rate_limit_counts_in_redis(app, client):
    make_article("lift")
    assert post_comment(client, "lift", comment="one", email="1@x.com").status_code == 303
    assert post_comment(client, "lift", comment="two", email="2@x.com").status_code == 303
    assert post_comment(client, "lift", comment="three", email="3@x.com").status_code == 429
    # The counters live in Redis, where every worker process sees them.
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")
    assert keys
