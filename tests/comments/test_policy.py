"""The moderation policy, called directly: every rule and the order they apply in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shop.comments.models import CommentStatus
from shop.comments.policy import PolicySettings, Submission, decide

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SETTINGS = PolicySettings(
    max_links=2,
    moderation_words=("viagra", "casino"),
    blocklist_words=("crypto-pump",),
    blocklist_emails=("spammer@example.com", "@junkmail.test"),
    blocklist_ips=("203.0.113.66", "198.51.100.0/24"),
    close_after_days=0,
    min_seconds=3,
)
BASE = Submission(
    body="Loved the hip hinge cues, thanks!",
    author_name="Sam Reader",
    author_email="sam@example.com",
    author_url="",
    ip_address="192.0.2.10",
    now=NOW,
    article_published_at=NOW - timedelta(days=10),
    seconds_since_render=30.0,
)


def test_new_commenter_is_held_by_default():
    decision = decide(BASE, SETTINGS)
    assert decision.status is CommentStatus.PENDING
    assert decision.reasons == ("New commenter: held for review",)


def test_proven_returning_commenter_is_approved():
    decision = decide(replace(BASE, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.APPROVED
    assert "Returning commenter" in decision.reasons[0]


def test_typed_in_identity_of_approved_commenter_proves_nothing():
    decision = decide(replace(BASE, claims_known_identity=True), SETTINGS)
    assert decision.status is CommentStatus.PENDING
    assert "did not prove" in decision.reasons[0]


def test_one_link_is_fine():
    body = "one link https://example.com is fine"
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.APPROVED


def test_two_links_are_held():
    body = "two links https://a.example and www.b.example"
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.PENDING
    assert decision.reasons == ("Contains 2 links (hold at 2 or more)",)


def test_links_hold_even_a_proven_commenter():
    body = "See http://a.example and http://b.example and http://c.example"
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.PENDING
    assert "3 links" in decision.reasons[0]


def test_link_limit_is_a_setting():
    body = "See http://a.example and http://b.example"
    relaxed = replace(SETTINGS, max_links=3)
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), relaxed)
    assert decision.status is CommentStatus.APPROVED


@pytest.mark.parametrize("body", ["Win at the CASINO today", "casino!", "(Viagra)"])
def test_moderation_words_match_whole_words_any_case(body):
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.PENDING
    assert decision.reasons[0].startswith("Contains moderation words:")


@pytest.mark.parametrize("body", ["casinos are loud", "occasional training", "viagraless"])
def test_moderation_words_do_not_match_inside_other_words(body):
    decision = decide(replace(BASE, body=body, proven_returning_commenter=True), SETTINGS)
    assert decision.status is CommentStatus.APPROVED


def test_moderation_words_also_checked_in_name_and_website():
    decision = decide(replace(BASE, author_name="Casino King"), SETTINGS)
    assert any("moderation words" in r for r in decision.reasons)


def test_comment_closing_age_is_off_by_default():
    old = replace(
        BASE, article_published_at=NOW - timedelta(days=3000), proven_returning_commenter=True
    )
    assert decide(old, SETTINGS).status is CommentStatus.APPROVED


def test_comments_on_old_articles_are_held_when_closing_age_is_set():
    closing = replace(SETTINGS, close_after_days=30)
    old = replace(
        BASE, article_published_at=NOW - timedelta(days=31), proven_returning_commenter=True
    )
    recent = replace(old, article_published_at=NOW - timedelta(days=29))
    assert decide(old, closing).status is CommentStatus.PENDING
    assert decide(old, closing).reasons == ("The article is older than 30 days",)
    assert decide(recent, closing).status is CommentStatus.APPROVED


def test_honeypot_is_spam():
    decision = decide(replace(BASE, honeypot="555-1234"), SETTINGS)
    assert decision.status is CommentStatus.SPAM
    assert "hidden field" in decision.reasons[0]


@pytest.mark.parametrize(
    ("seconds", "status"), [(2.9, CommentStatus.SPAM), (3.0, CommentStatus.PENDING)]
)
def test_posting_faster_than_three_seconds_is_spam(seconds, status):
    assert decide(replace(BASE, seconds_since_render=seconds), SETTINGS).status is status


def test_missing_or_forged_form_stamp_is_spam():
    decision = decide(replace(BASE, seconds_since_render=None), SETTINGS)
    assert decision.status is CommentStatus.SPAM
    assert "time stamp" in decision.reasons[0]


def test_blocklisted_word_is_spam_even_for_proven_commenter():
    decision = decide(
        replace(BASE, body="Join my Crypto-Pump group", proven_returning_commenter=True), SETTINGS
    )
    assert decision.status is CommentStatus.SPAM
    assert decision.reasons == ("Contains blocked words: crypto-pump",)


@pytest.mark.parametrize(
    "email", ["spammer@example.com", "SPAMMER@example.com", "anyone@junkmail.test"]
)
def test_blocklisted_emails_and_domains_are_spam(email):
    decision = decide(replace(BASE, author_email=email), SETTINGS)
    assert decision.status is CommentStatus.SPAM
    assert "Email is on the blocklist" in decision.reasons[0]


@pytest.mark.parametrize("ip", ["203.0.113.66", "198.51.100.200"])
def test_blocklisted_ips_and_networks_are_spam(ip):
    decision = decide(replace(BASE, ip_address=ip), SETTINGS)
    assert decision.status is CommentStatus.SPAM
    assert "IP address is on the blocklist" in decision.reasons[0]


def test_unlisted_ip_and_bad_entries_are_ignored():
    settings = replace(SETTINGS, blocklist_ips=("not-an-ip", "203.0.113.66"))
    assert decide(replace(BASE, ip_address="192.0.2.1"), settings).status is CommentStatus.PENDING


def test_all_reasons_are_reported():
    decision = decide(replace(BASE, honeypot="x", seconds_since_render=0.5), SETTINGS)
    assert decision.status is CommentStatus.SPAM
    assert len(decision.reasons) == 2


def test_spam_rules_win_over_hold_rules():
    decision = decide(replace(BASE, body="casino http://a.b http://c.d", honeypot="x"), SETTINGS)
    assert decision.status is CommentStatus.SPAM
