"""Commenter IPs are kept for COMMENT_IP_RETENTION_DAYS at most."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import make_article, make_comment


@pytest.fixture
def app_settings():
    return {"COMMENT_IP_RETENTION_DAYS": 30}


def test_purge_comment_ips_forgets_old_addresses_only(runner):
    article = make_article()
    old = make_comment(article, created_at=utcnow() - timedelta(days=31), ip_address="198.51.100.1")
    old.user_agent = "Mozilla/5.0"
    recent = make_comment(
        article, created_at=utcnow() - timedelta(days=29), ip_address="198.51.100.2"
    )
    db.session.commit()

    result = runner.invoke(args=["purge-comment-ips"])
    assert result.exit_code == 0
    assert "Removed the IP address from 1 comment(s) older than 30 days." in result.output
    assert (old.ip_address, old.user_agent) == (None, None)
    assert recent.ip_address == "198.51.100.2"
    assert old.body == "Nice one.", "the comment itself stays"

    again = runner.invoke(args=["purge-comment-ips"])
    assert "from 0 comment(s)" in again.output
