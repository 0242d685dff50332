"""Answering a person's privacy request: export what the shop holds about them, or erase it.

Both are found by email (see shop.privacy.queries), both are recorded in the audit log by shop
ids and counts — never the email, a name or an address — and both commit once. So is looking a
person up (`look_up_person`, privacy.lookup), since the page shows what is held: a lookup that
finds nothing records nothing.

`export_person` returns the JSON document of everything held (customer, addresses,
subscriptions, invoices, calendar boxes, shipments, checkouts, emails, sign-in link times,
comments in every status, the recorded Stripe events about their customer record and
subscriptions with their payloads). Raises NothingHeld.

`erase_person` erases the person's personal data, in one transaction:

- Comments keep their text (and their place in threads) but lose the name ("Anonymous"),
  email, website, IP address and browser, and the key made from the email that refused
  duplicates; their email, IP address and name are struck from the moderation notes too.
- A customer's record is erased only when nothing is left to do for them: every subscription
  has ended (canceled or incomplete_expired; active, trialing, past_due, unpaid, paused and
  incomplete can still charge or ship) and every paid box has shipped or been cancelled.
  Otherwise ErasureRefused says why and nothing changes, not even their comments.
- Then the account's name goes, its email becomes `erased-<id>@erased.invalid` (the column is
  unique and required; the .invalid domain can receive no mail), its address, the addresses on
  its subscriptions and shipments, the shipments' tracking numbers, its sign-in links and last
  sign-in time; every session it has ends (the session epoch moves on). Emails not yet sent are
  dropped (queued emails store no address or body: they are composed when sent). Development
  outbox copies sent to the address are deleted. Recorded Stripe events about the person (the
  same ones the export gives them) lose the personal fields of their payloads (emails, names,
  phones, addresses); events about other people only have the person's address struck out
  where it appears (a note on a gift, say): their own people's details stay.
- Kept for the books, with no personal data left in them: the account's id and Stripe customer
  id, subscriptions (plan, status, dates), invoices (amounts, periods, payment dates), calendar
  boxes and shipments (box, ship month, status, carrier, dates), checkouts, and which emails were
  sent when.
- Stripe keeps its own copy of the customer (email, name, addresses, cards): this does not
  delete it. The admin page names the Stripe customer ids so the owner can erase them in
  Stripe's dashboard; until then a change made in Stripe would bring the details back
  (customer.updated).

Raises NothingHeld when nothing is held about the address (including once it was erased).

Unlike other services, this one writes other domains' rows (accounts, billing, comments, mail)
itself: a person is erased all or nothing, in one transaction, and erasing is no other
domain's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.models import Customer, SignInLink
from shop.accounts.queries import customer_by_email
from shop.audit.services import record_admin_action
from shop.billing.queries import SubscriberState
from shop.db import advisory_lock
from shop.extensions import db
from shop.mail.models import EmailStatus, OutboxMessage
from shop.privacy.queries import (
    ERASED_DOMAIN,
    PersonRecords,
    email_pattern,
    export_document,
    find_person,
    person_email,
)

ANONYMOUS = "Anonymous"
ERASED_MARK = "[erased]"
# The audit entry lists at most this many comment ids (the count is always exact).
AUDITED_IDS = 200
# Keys of Stripe objects that hold a person's details, wherever they appear in a payload.
PERSONAL_STRIPE_KEYS = frozenset(
    {
        "email",
        "phone",
        "address",
        "shipping",
        "shipping_details",
        "billing_details",
        "customer_details",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_address",
        "customer_shipping",
    }
)
UNSENT = (EmailStatus.PENDING, EmailStatus.SENDING)


class PrivacyError(Exception):
    """The request could not be carried out; the message says why, for the admin."""


class NothingHeld(PrivacyError):
    def __init__(self) -> None:
        super().__init__(
            "The shop holds nothing about this email address: no customer, no comments. If it "
            "was erased before, the audit log shows it (privacy.erase)."
        )


class ErasureRefused(PrivacyError):
    """The customer still has a live subscription or boxes to ship; nothing was changed."""

    def __init__(self, customer_id: int, reasons: list[str]) -> None:
        self.customer_id = customer_id
        self.reasons = reasons
        super().__init__(
            f"Customer #{customer_id} can't be erased yet, and nothing was changed: "
            + " ".join(reasons)
        )


@dataclass(frozen=True)
class ErasureResult:
    customer_id: int | None
    comments: int
    subscriptions: int
    shipments: int
    sign_in_links: int
    emails_dropped: int
    outbox_messages: int
    stripe_events: int
    stripe_customer_ids: tuple[str, ...]

    def summary(self) -> str:
        """What was erased, by id and count (for the flash message and the audit log)."""
        parts = []
        if self.customer_id is not None:
            parts.append(
                f"customer #{self.customer_id}'s name, email and address, the addresses of "
                f"{self.subscriptions} subscription(s) and {self.shipments} shipment(s), "
                f"{self.sign_in_links} sign-in link(s) and every session"
            )
        if self.comments:
            parts.append(f"the name, email, website and IP address of {self.comments} comment(s)")
        if self.outbox_messages:
            parts.append(f"{self.outbox_messages} development outbox message(s)")
        text = ("Erased " + " and ".join(parts) + ".") if parts else "Erased what was held."
        if self.emails_dropped:
            text += f" {self.emails_dropped} unsent email(s) dropped."
        if self.stripe_events:
            text += f" Personal details removed from {self.stripe_events} recorded Stripe event(s)."
        return text


def _subject(records: PersonRecords) -> str:
    if records.customer is not None:
        return f"customer:{records.customer.id}"
    if records.comments:
        return f"comment:{records.comments[0].id}"
    return ""


def _who(records: PersonRecords) -> str:
    if records.customer is not None:
        return f"customer #{records.customer.id}"
    return f"a commenter ({len(records.comments)} comment(s))"


def _record_reading(records: PersonRecords, action: str, done: str, **details: Any) -> None:
    """The audit entry for an admin reading what is held about a person: named by id, with the
    counts (and any further `details`), never by address."""
    record_admin_action(
        action,
        f"{done} {_who(records)}",
        subject=_subject(records),
        details={
            "customer_id": records.customer.id if records.customer else None,
            "counts": records.counts(),
            **details,
        },
    )


def look_up_person(
    raw_email: str, *, state_labels: Mapping[SubscriberState, str] | None = None
) -> PersonRecords:
    """What is held about this email, for an admin to see, with an audit entry (privacy.lookup:
    the customer id and counts). Commits; the records stay loaded.

    Raises NothingHeld (and records nothing) when nothing is held.
    """
    records = find_person(raw_email, state_labels=state_labels)
    if not records.holds_anything:
        db.session.rollback()
        raise NothingHeld
    _record_reading(records, "privacy.lookup", "Looked up what is held about")
    # Nothing in the records changed: keep them loaded for the page rather than reading each
    # row again as it is shown.
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
    return records


def export_person(raw_email: str) -> dict[str, Any]:
    """The JSON document of everything held about this email, with an audit entry. Commits.

    Raises NothingHeld.
    """
    records = find_person(raw_email)
    if not records.holds_anything:
        raise NothingHeld
    document = export_document(records)
    _record_reading(
        records,
        "privacy.export",
        "Exported everything held about",
        comment_ids=[c.id for c in records.comments[:AUDITED_IDS]],
    )
    db.session.commit()
    return document


def erase_person(raw_email: str) -> ErasureResult:
    """Erase the personal data held about this email (see the module docstring). Commits once.

    Raises NothingHeld, or ErasureRefused when the customer still has a subscription that has
    not ended or a paid box to ship (then nothing at all is changed).
    """
    email = person_email(raw_email)
    # The same lock as an account being created for this email (shop.accounts.services), and
    # the account's row: no checkout completes for them half-way through.
    advisory_lock(db.session, f"customer-email:{email}")
    db.session.scalar(customer_by_email(email).with_for_update())
    records = find_person(email)
    customer = records.customer
    if customer is not None and records.is_erased_customer:
        customer = None  # erased before: only its placeholder address matched
    if customer is None and not (
        records.comments or records.outbox or records.stripe_events or records.stripe_event_mentions
    ):
        db.session.rollback()
        raise NothingHeld
    if customer is not None and records.erase_blockers:
        db.session.rollback()
        raise ErasureRefused(customer.id, records.erase_blockers)

    for comment in records.comments:
        _anonymise_comment(comment, email)
    erased: dict[str, int] = {}
    if customer is not None:
        erased = _erase_customer(customer, records)
    outbox = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in records.outbox]))
    ).rowcount
    result = ErasureResult(
        customer_id=customer.id if customer is not None else None,
        comments=len(records.comments),
        subscriptions=len(records.subscriptions) if customer is not None else 0,
        shipments=len(records.shipments) if customer is not None else 0,
        sign_in_links=erased.get("sign_in_links", 0),
        emails_dropped=erased.get("emails_dropped", 0),
        outbox_messages=outbox or 0,
        stripe_events=_redact_stripe_events(email, records),
        stripe_customer_ids=tuple(records.stripe_customer_ids),
    )
    record_admin_action(
        "privacy.erase",
        result.summary(),
        subject=_subject(records),
        details={
            "customer_id": result.customer_id,
            "comments": result.comments,
            "comment_ids": [c.id for c in records.comments[:AUDITED_IDS]],
            "subscriptions": result.subscriptions,
            "shipments": result.shipments,
            "sign_in_links": result.sign_in_links,
            "emails_dropped": result.emails_dropped,
            "outbox_messages": result.outbox_messages,
            "stripe_events": result.stripe_events,
            "stripe_customer_ids": list(result.stripe_customer_ids),
        },
    )
    db.session.commit()
    return result


def _strike(text: str, needles: list[str]) -> str:
    for needle in needles:
        text = re.sub(re.escape(needle), ERASED_MARK, text, flags=re.IGNORECASE)
    return text


def _anonymise_comment(comment: Any, email: str) -> None:
    needles = [email]
    if comment.ip_address:
        needles.append(comment.ip_address)
    if len(comment.author_name) >= 3 and comment.author_name != ANONYMOUS:
        needles.append(comment.author_name)
    comment.status_reasons = [_strike(reason, needles) for reason in comment.status_reasons]
    comment.author_name = ANONYMOUS
    comment.author_email = ""
    comment.author_url = ""
    comment.ip_address = None
    comment.user_agent = None
    # sha256 of the email and text: whoever has both could tell the comment was theirs.
    comment.fingerprint = None


def _erase_customer(customer: Customer, records: PersonRecords) -> dict[str, int]:
    nowhere = PostalAddress()
    customer.email = f"erased-{customer.id}@{ERASED_DOMAIN}"
    customer.name = ""
    store_address(customer, "shipping_", nowhere)
    customer.last_sign_in_at = None
    customer.session_epoch = customer.session_epoch + 1  # every session of theirs ends
    for subscription in records.subscriptions:
        store_address(subscription, "ship_to_", nowhere)
    for shipment in records.shipments:
        store_address(shipment, "ship_to_", nowhere)
        shipment.tracking_number = ""
    dropped = 0
    for queued in records.emails:
        if queued.status in UNSENT:
            queued.status = EmailStatus.DROPPED
            queued.last_error = "The customer's personal data was erased."
            dropped += 1
    links = db.session.execute(
        delete(SignInLink).where(SignInLink.customer_id == customer.id)
    ).rowcount
    return {"sign_in_links": links or 0, "emails_dropped": dropped}


def strike_email(value: Any, pattern: re.Pattern[str]) -> Any:
    """A copy of a payload with the address (its `email_pattern`) struck out of its text, and
    nothing else changed."""
    if isinstance(value, dict):
        return {key: strike_email(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [strike_email(item, pattern) for item in value]
    if isinstance(value, str):
        return pattern.sub(ERASED_MARK, value)
    return value


def redact_payload(value: Any, email: str) -> Any:
    """A copy of a Stripe payload without a person's details: personal fields emptied, a
    customer object's name too, and the email wherever else it appears."""
    if isinstance(value, dict):
        is_customer = value.get("object") == "customer"
        return {
            key: None
            if key in PERSONAL_STRIPE_KEYS or (is_customer and key == "name")
            else redact_payload(item, email)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_payload(item, email) for item in value]
    if isinstance(value, str) and email and email in value.lower():
        return _strike(value, [email])
    return value


def _redact_stripe_events(email: str, records: PersonRecords) -> int:
    changed = 0
    for event in records.stripe_events:
        redacted = redact_payload(event.payload, email)
        if redacted != event.payload:
            event.payload = redacted
            changed += 1
    for event in records.stripe_event_mentions:
        event.payload = strike_email(event.payload, email_pattern(email))
        changed += 1
    return changed
