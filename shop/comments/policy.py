"""The moderation policy: a pure function from a submission to a status and its reasons.

No database, no request, no clock: everything the decision depends on is passed in, so every
rule is unit-tested directly. The order is spam rules, then hold rules, then auto-approval.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shop.comments.models import CommentStatus

URL_PATTERN = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True)
class PolicySettings:
    max_links: int = 2
    moderation_words: tuple[str, ...] = ()
    blocklist_words: tuple[str, ...] = ()
    blocklist_emails: tuple[str, ...] = ()
    blocklist_ips: tuple[str, ...] = ()
    close_after_days: int = 0  # 0: comments never close
    min_seconds: int = 3
    # A browser that proves it posted an approved comment with this email is approved at once.
    auto_approve_returning: bool = True


@dataclass(frozen=True)
class Submission:
    body: str
    author_name: str
    author_email: str
    author_url: str
    ip_address: str | None
    now: datetime
    article_published_at: datetime | None
    # Seconds between rendering the form and posting it; None when the signed stamp was
    # missing or forged.
    seconds_since_render: float | None
    honeypot: str = ""
    # The browser presented the shop's signed commenter cookie naming an earlier, approved
    # comment with this same email.
    proven_returning_commenter: bool = False
    # An approved comment has this name and email, but nothing proves who typed them.
    claims_known_identity: bool = False


@dataclass(frozen=True)
class Decision:
    status: CommentStatus
    reasons: tuple[str, ...]


def count_links(text: str) -> int:
    return len(URL_PATTERN.findall(text))


def _matching_words(words: Iterable[str], *texts: str) -> list[str]:
    found = []
    for word in words:
        word = word.strip()
        if not word:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        if any(pattern.search(text) for text in texts):
            found.append(word)
    return found


def _email_blocked(email: str, entries: Iterable[str]) -> str | None:
    """The blocklist entry matching `email`: the whole address, or its domain written
    `@example.com` (or `*@example.com`, as the environment's list may say it)."""
    email = email.strip().lower()
    domain = email.rpartition("@")[2]
    for entry in entries:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("*@"):
            entry = entry[1:]
        if entry.startswith("@") and domain == entry[1:]:
            return entry
        if email == entry:
            return entry
    return None


def _ip_blocked(ip: str | None, entries: Iterable[str]) -> str | None:
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return entry.strip()
        except ValueError:
            continue
    return None


def decide(submission: Submission, settings: PolicySettings) -> Decision:
    """Decide the status of a new comment and say why."""
    texts = (submission.body, submission.author_name, submission.author_url)

    spam: list[str] = []
    if submission.honeypot.strip():
        spam.append("Filled in the hidden field that only robots see")
    if submission.seconds_since_render is None:
        spam.append("The form's time stamp was missing or tampered with")
    elif submission.seconds_since_render < settings.min_seconds:
        spam.append(
            f"Posted {submission.seconds_since_render:.1f} s after the form was shown "
            f"(faster than {settings.min_seconds} s)"
        )
    if words := _matching_words(settings.blocklist_words, *texts):
        spam.append("Contains blocked words: " + ", ".join(words))
    if entry := _email_blocked(submission.author_email, settings.blocklist_emails):
        spam.append(f"Email is on the blocklist ({entry})")
    if entry := _ip_blocked(submission.ip_address, settings.blocklist_ips):
        spam.append(f"IP address is on the blocklist ({entry})")
    if spam:
        return Decision(CommentStatus.SPAM, tuple(spam))

    held: list[str] = []
    links = count_links(submission.body)
    if settings.max_links and links >= settings.max_links:
        held.append(f"Contains {links} links (hold at {settings.max_links} or more)")
    if words := _matching_words(settings.moderation_words, *texts):
        held.append("Contains moderation words: " + ", ".join(words))
    if (
        settings.close_after_days
        and submission.article_published_at is not None
        and submission.now - submission.article_published_at
        > timedelta(days=settings.close_after_days)
    ):
        held.append(f"The article is older than {settings.close_after_days} days")
    if held:
        return Decision(CommentStatus.PENDING, tuple(held))

    if submission.proven_returning_commenter and not settings.auto_approve_returning:
        return Decision(
            CommentStatus.PENDING,
            ("Returning commenter, held for review: auto-approval is off in the comment settings",),
        )
    if submission.proven_returning_commenter:
        return Decision(
            CommentStatus.APPROVED,
            (
                "Returning commenter: this browser posted an earlier approved comment with this email",
            ),
        )
    if submission.claims_known_identity:
        return Decision(
            CommentStatus.PENDING,
            (
                "Name and email match an approved comment, but this browser did not prove it "
                "posted that comment",
            ),
        )
    return Decision(CommentStatus.PENDING, ("New commenter: held for review",))
