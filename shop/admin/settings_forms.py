"""The comment settings form: numbers in range, and lists typed one entry a line.

Each list is cleaned the same way: lines trimmed, blank lines dropped, repeats (in any case)
kept once. Then each entry is checked for its kind; the first bad lines are named in the field's
error, and nothing is saved while any field has an error. Every error is whole sentences, each
starting with a capital letter and ending with a full stop.

Blocked emails are whole addresses or domains written `@example.com`: the moderation policy
matches nothing else. `*@example.com`, the way many people write a whole domain, is stored as
`@example.com`; a `*` anywhere else is refused (it would be stored, and never match).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, StopValidation, ValidationError

from shop.accounts.services import normalise_email
from shop.comments.settings import CommentSettings
from shop.forms import DIRECTION_CONTROLS

MAX_LIST_TEXT = 20_000  # characters in one list box
MAX_ENTRIES = 500  # entries in one list
MAX_WORD = 100  # characters in one word or phrase
MAX_EMAIL = 254
# Networks broader than these would mark a large part of the internet's comments as spam.
MIN_PREFIX = {4: 8, 6: 32}
SHOWN_BAD_LINES = 3

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# One label of a domain: letters or digits of any script, hyphens inside.
_DOMAIN_LABEL = re.compile(r"[^\W_](?:[^\W_]|-){0,61}(?<!-)")


def split_lines(text: str | None) -> tuple[str, ...]:
    """The entries of a list box: trimmed lines, blanks dropped, repeats (any case) once."""
    seen: set[str] = set()
    entries = []
    for line in (text or "").splitlines():
        entry = line.strip()
        if entry and entry.casefold() not in seen:
            seen.add(entry.casefold())
            entries.append(entry)
    return tuple(entries)


def _check_word(entry: str) -> str:
    if len(entry) > MAX_WORD:
        raise ValueError(f"is longer than {MAX_WORD} characters")
    if _CONTROL.search(entry) or DIRECTION_CONTROLS.search(entry):
        raise ValueError("has hidden control characters")
    return entry


def _is_domain(domain: str) -> bool:
    labels = domain.split(".")
    return (
        len(domain) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _check_email(entry: str) -> str:
    entry = normalise_email(entry)
    if entry.startswith("*@"):
        entry = entry[1:]  # the whole domain, written as the policy matches it
    if "*" in entry:
        raise ValueError(
            "has a * the blocklist can't match: write *@example.com or @example.com for a "
            "whole domain, or a whole address"
        )
    if len(entry) > MAX_EMAIL:
        raise ValueError(f"is longer than {MAX_EMAIL} characters")
    if entry.startswith("@"):
        if not _is_domain(entry[1:]):
            raise ValueError("is not a domain like @example.com")
        return entry
    if "@" not in entry:
        raise ValueError("needs an @: write a whole address, or a domain as @example.com")
    try:
        validate_email(entry, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("is not an email address") from exc
    return entry


def _check_ip(entry: str) -> str:
    address, slash, _ = entry.partition("/")
    try:
        if not slash:
            return str(ipaddress.ip_address(entry))
        network = ipaddress.ip_network(entry, strict=False)
        start = ipaddress.ip_address(address)
    except ValueError as exc:
        raise ValueError("is not an IP address or network (like 198.51.100.0/24)") from exc
    if network.network_address != start:
        raise ValueError(f"has bits set past the prefix: did you mean {network}?")
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise ValueError(
            f"is too broad (shorter than /{MIN_PREFIX[network.version]}): it would block "
            "a large part of the internet"
        )
    return str(network)


def _sentence(text: str) -> str:
    """`text` ending as a sentence ends (a full stop unless it asks or exclaims already)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _shown(entry: str) -> str:
    """The entry as the error names it: quoted, and cut short when long."""
    return repr(entry if len(entry) <= 40 else entry[:40] + "…")


def _entries(count: int) -> str:
    return "entry is" if count == 1 else "entries are"


def max_text(form: FlaskForm, field: Field) -> None:
    """The list box's text is short enough to check line by line; if not, that is the only
    error (its entries are not checked)."""
    if len(field.data or "") > MAX_LIST_TEXT:
        raise StopValidation(
            f"Keep this list under {MAX_LIST_TEXT:,} characters. Nothing was saved."
        )


def entry_list(kind: str, check: Callable[[str], str]) -> Callable[[FlaskForm, Field], None]:
    """A validator for a list box: every entry must pass `check`; the field's data becomes the
    cleaned tuple of entries."""

    def validate(form: FlaskForm, field: Field) -> None:
        entries = split_lines(field.data)
        if len(entries) > MAX_ENTRIES:
            raise ValidationError(
                f"Keep this list to {MAX_ENTRIES} {kind} at most. Nothing was saved."
            )
        cleaned, bad = [], []
        for number, entry in enumerate(entries, start=1):
            try:
                cleaned.append(check(entry))
            except ValueError as problem:
                bad.append(_sentence(f"Entry {number} ({_shown(entry)}) {problem}"))
        if bad:
            more = len(bad) - SHOWN_BAD_LINES
            raise ValidationError(
                " ".join(
                    [
                        *bad[:SHOWN_BAD_LINES],
                        *([f"{more} more {_entries(more)} wrong too."] if more > 0 else []),
                        "Nothing was saved.",
                    ]
                )
            )
        field.entries = tuple(dict.fromkeys(cleaned))

    return validate


def _list_field(label: str, kind: str, check: Callable[[str], str]) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            max_text,
            entry_list(kind, check),
        ],
        render_kw={"spellcheck": "false", "autocapitalize": "none", "rows": 5},
    )


def _number_field(label: str, low: int, high: int) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(f"Enter a whole number from {low} to {high}."),
            NumberRange(low, high, f"Enter a whole number from {low} to {high}."),
        ],
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


class CommentSettingsForm(FlaskForm):
    max_links = _number_field("Hold a comment with this many links or more", 0, 50)
    moderation_words = _list_field("Moderation words (hold the comment)", "words", _check_word)
    blocklist_words = _list_field("Blocked words (mark as spam)", "words", _check_word)
    blocklist_emails = _list_field("Blocked emails and domains", "emails", _check_email)
    blocklist_ips = _list_field("Blocked IP addresses and networks", "addresses", _check_ip)
    auto_approve_returning = RadioField(
        "Returning commenters",
        choices=[
            SelectChoice(
                "yes", "Approve at once (when their browser proves an earlier approved comment)"
            ),
            SelectChoice("no", "Hold for review, like everyone else"),
        ],
        validators=[InputRequired("Choose whether returning commenters are approved at once.")],
    )
    close_after_days = _number_field("Hold comments on articles older than (days)", 0, 3650)
    comments_per_page = _number_field("Comments per article page", 5, 200)

    LIST_FIELDS = ("moderation_words", "blocklist_words", "blocklist_emails", "blocklist_ips")

    @classmethod
    def showing(cls, settings: CommentSettings) -> CommentSettingsForm:
        """The form filled in with the settings in force."""
        return cls(
            formdata=None,
            data={
                "max_links": settings.max_links,
                **{name: "\n".join(getattr(settings, name)) for name in cls.LIST_FIELDS},
                "auto_approve_returning": "yes" if settings.auto_approve_returning else "no",
                "close_after_days": settings.close_after_days,
                "comments_per_page": settings.comments_per_page,
            },
        )

    def settings(self) -> CommentSettings:
        """The settings the valid form describes (call after validate())."""
        return CommentSettings(
            max_links=int(self.max_links.data),
            moderation_words=self.moderation_words.entries,
            blocklist_words=self.blocklist_words.entries,
            blocklist_emails=self.blocklist_emails.entries,
            blocklist_ips=self.blocklist_ips.entries,
            auto_approve_returning=self.auto_approve_returning.data == "yes",
            close_after_days=int(self.close_after_days.data),
            comments_per_page=int(self.comments_per_page.data),
        )
