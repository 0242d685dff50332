"""Promotion codes: created, listed and deactivated in Stripe, which holds them (no local table).

A promotion is a Stripe coupon (what comes off: a percentage, or an amount in AUD; for how long:
the first invoice only, N months, or forever) and one promotion code for it (the text a customer
types at Checkout; an optional expiry and redemption limit). Stripe checks every condition at
Checkout, so a code works the same on Stripe and on the emulator; the shop only creates them.

Contract:

- `create_promotion` refuses a code an active code already has (whatever its case: Stripe's
  rule), before anything is created (`DuplicateCode`). It creates the coupon, then the code, each
  with an idempotency key derived from the form submission and what was typed, so a double click
  creates one coupon and one code. If the code cannot be created the coupon is deleted again:
  nothing half-done is left usable.
- Order: Stripe first, then the audit entry ("promotion.create", "promotion.deactivate"),
  committed right after Stripe accepted the call (there is no local row to commit it with). A
  repeated submission that Stripe answers with the same code records no second entry.
- Stripe unreachable or refusing: `PaymentProviderError` (callers show a 503), nothing recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from shop.audit.models import AuditEntry
from shop.audit.services import record_admin_action
from shop.billing.gateway import PaymentProviderError, gateway
from shop.db import utcnow
from shop.extensions import db
from shop.money import format_money

logger = logging.getLogger(__name__)

CURRENCY = "aud"
# Stripe answers a request whose idempotency key another request is still using with 409; the
# second click of a double click waits for the first this long, once.
IDEMPOTENCY_WAIT_SECONDS = 1.0
METADATA_SOURCE = "musclebox-admin"


class Duration(StrEnum):
    """How long a coupon keeps discounting a subscription (Stripe's coupon `duration`)."""

    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class DiscountKind(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"


class PromotionState(StrEnum):
    """Whether a code can be redeemed now, and if not, why (for the list)."""

    ACTIVE = "active"
    EXPIRED = "expired"
    USED_UP = "used_up"
    INACTIVE = "inactive"


class PromotionError(Exception):
    """A promotion the shop cannot create or change (the message says why)."""


class DuplicateCode(PromotionError):
    """An active promotion code already has this text."""


class UnknownPromotion(PromotionError):
    """Stripe has no promotion code with that id."""


@dataclass(frozen=True)
class NewPromotion:
    """What the admin asked for, already validated (see shop.admin.promotions_forms)."""

    code: str  # upper-cased letters and digits
    kind: DiscountKind
    percent_off: int | None
    amount_off_cents: int | None
    duration: Duration
    duration_in_months: int | None
    expires_at: datetime | None  # UTC
    max_redemptions: int | None


@dataclass(frozen=True)
class Promotion:
    """A Stripe promotion code with its coupon, as the admin list shows it."""

    id: str
    code: str
    coupon_id: str
    is_active: bool
    percent_off: float | None
    amount_off_cents: int | None
    currency: str | None
    duration: str
    duration_in_months: int | None
    expires_at: datetime | None
    max_redemptions: int | None
    times_redeemed: int
    created_at: datetime
    coupon_valid: bool

    @property
    def state(self) -> PromotionState:
        if not self.is_active or not self.coupon_valid:
            return PromotionState.INACTIVE
        if self.expires_at is not None and self.expires_at <= utcnow():
            return PromotionState.EXPIRED
        if self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions:
            return PromotionState.USED_UP
        return PromotionState.ACTIVE


@dataclass(frozen=True)
class PromotionsPage:
    promotions: list[Promotion]
    next_after: str | None  # the cursor of the next page, if there is one


def promotions_page(*, after: str | None, per_page: int) -> PromotionsPage:
    """One page of promotion codes from Stripe, newest first. Raises PaymentProviderError
    (NotFoundAtProvider when `after` names no code)."""
    data, has_more = gateway().list_promotion_codes(limit=per_page, starting_after=after)
    promotions = [promotion_from_stripe(item) for item in data]
    return PromotionsPage(promotions, promotions[-1].id if has_more and promotions else None)


def get_promotion(promotion_code_id: str) -> Promotion:
    """One code as Stripe has it now. Raises NotFoundAtProvider, PaymentProviderError."""
    return promotion_from_stripe(gateway().retrieve_promotion_code(promotion_code_id))


def create_promotion(new: NewPromotion, submission: str) -> Promotion:
    """Create the coupon and the promotion code in Stripe, then commit an audit entry.

    `submission` names one submission of the form (a double click sends it twice). Raises
    DuplicateCode, PaymentProviderError."""
    key = _submission_key(new, submission)
    for existing in _codes_with_text(new.code):
        if existing.get("metadata", {}).get("submission") == key:
            # The first click of a double click got there first: the same code, once.
            return _recorded_create(promotion_from_stripe(existing))
        if existing.get("active"):
            raise DuplicateCode(_duplicate_message(new.code))
    metadata = {"source": METADATA_SOURCE, "submission": key}
    coupon = _idempotent(
        lambda: gateway().create_coupon(
            _coupon_params(new, metadata), idempotency_key=f"coupon-{key}"
        )
    )
    try:
        created = _idempotent(
            lambda: gateway().create_promotion_code(
                _code_params(new, coupon["id"], metadata),
                idempotency_key=f"promotion-code-{key}",
            )
        )
    except PaymentProviderError as error:
        _delete_coupon_quietly(coupon["id"])
        if any(item.get("active") for item in _codes_with_text(new.code, quiet=True)):
            raise DuplicateCode(_duplicate_message(new.code)) from error
        raise
    return _recorded_create(promotion_from_stripe(created))


def deactivate_promotion(promotion_code_id: str) -> tuple[Promotion, bool]:
    """Set the code's `active` to false in Stripe, then commit an audit entry. Returns the code
    and whether it changed (False: it was inactive already; nothing is recorded). Raises
    NotFoundAtProvider for an unknown id, PaymentProviderError."""
    current = get_promotion(promotion_code_id)
    if not current.is_active:
        return current, False
    updated = promotion_from_stripe(gateway().deactivate_promotion_code(promotion_code_id))
    record_admin_action(
        "promotion.deactivate",
        f"Deactivated promotion code {updated.code} ({updated.times_redeemed} redemption(s))",
        subject=f"promotion_code:{updated.id}",
        details={"code": updated.code, "coupon": updated.coupon_id},
    )
    db.session.commit()
    return updated, True


def promotion_from_stripe(data: dict[str, Any]) -> Promotion:
    """A Stripe promotion code (its coupon expanded) as a `Promotion`."""
    coupon = (data.get("promotion") or {}).get("coupon") or {}
    if isinstance(coupon, str):
        coupon = {"id": coupon}
    percent = coupon.get("percent_off")
    return Promotion(
        id=data["id"],
        code=data.get("code") or "",
        coupon_id=coupon.get("id") or "",
        is_active=bool(data.get("active")),
        percent_off=float(percent) if percent is not None else None,
        amount_off_cents=coupon.get("amount_off"),
        currency=coupon.get("currency"),
        duration=coupon.get("duration") or "",
        duration_in_months=coupon.get("duration_in_months"),
        expires_at=_from_epoch(data.get("expires_at")),
        max_redemptions=data.get("max_redemptions"),
        times_redeemed=int(data.get("times_redeemed") or 0),
        created_at=_from_epoch(data.get("created")) or utcnow(),
        coupon_valid=bool(coupon.get("valid", True)) and not coupon.get("deleted"),
    )


def _from_epoch(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int) else None


def _submission_key(new: NewPromotion, submission: str) -> str:
    """The same for the same submission of the same promotion, different for any change."""
    fields = asdict(new)
    fields["expires_at"] = new.expires_at.isoformat() if new.expires_at else None
    text = json.dumps({"submission": submission, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _coupon_params(new: NewPromotion, metadata: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "duration": new.duration.value,
        "name": new.code,
        "metadata": metadata,
    }
    if new.kind is DiscountKind.PERCENT:
        params["percent_off"] = new.percent_off
    else:
        params["amount_off"] = new.amount_off_cents
        params["currency"] = CURRENCY
    if new.duration is Duration.REPEATING:
        params["duration_in_months"] = new.duration_in_months
    return params


def _code_params(new: NewPromotion, coupon_id: str, metadata: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "promotion": {"type": "coupon", "coupon": coupon_id},
        "code": new.code,
        "metadata": metadata,
    }
    if new.expires_at is not None:
        params["expires_at"] = int(new.expires_at.timestamp())
    if new.max_redemptions is not None:
        params["max_redemptions"] = new.max_redemptions
    return params


def _codes_with_text(code: str, *, quiet: bool = False) -> list[dict[str, Any]]:
    """Every promotion code with this text, whatever its case (Stripe's list compares so)."""
    try:
        data, _more = gateway().list_promotion_codes(limit=100, code=code)
    except PaymentProviderError:
        if quiet:
            return []
        raise
    return [item for item in data if str(item.get("code", "")).lower() == code.lower()]


def _idempotent(call: Any) -> dict[str, Any]:
    """Run a create call; if Stripe says its key is still in use (the other click of a double
    click is in flight), wait for that request once and take its answer."""
    try:
        return call()
    except PaymentProviderError as error:
        if error.code != "idempotency_key_in_use":
            raise
    time.sleep(IDEMPOTENCY_WAIT_SECONDS)
    return call()


def _delete_coupon_quietly(coupon_id: str) -> None:
    try:
        gateway().delete_coupon(coupon_id)
    except PaymentProviderError as error:
        logger.error(
            "promotion: coupon %s was left in Stripe without a code (request %s)",
            coupon_id,
            error.request_id,
        )


def _recorded_create(promotion: Promotion) -> Promotion:
    """Commit the "promotion.create" entry for a code Stripe accepted, once per code."""
    subject = f"promotion_code:{promotion.id}"
    already = db.session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.action == "promotion.create", AuditEntry.subject == subject
        )
    )
    if already is None:
        record_admin_action(
            "promotion.create",
            f"Created promotion code {promotion.code}: {_describe(promotion)}",
            subject=subject,
            details={
                "code": promotion.code,
                "coupon": promotion.coupon_id,
                "percent_off": promotion.percent_off,
                "amount_off_cents": promotion.amount_off_cents,
                "currency": promotion.currency,
                "duration": promotion.duration,
                "duration_in_months": promotion.duration_in_months,
                "expires_at": promotion.expires_at.isoformat() if promotion.expires_at else None,
                "max_redemptions": promotion.max_redemptions,
            },
        )
        db.session.commit()
    return promotion


def _describe(promotion: Promotion) -> str:
    """ "20% off for 3 months" / "$10.00 AUD off once" (for the audit log's summary)."""
    if promotion.percent_off is not None:
        off = f"{promotion.percent_off:g}% off"
    else:
        off = f"{format_money(promotion.amount_off_cents or 0, promotion.currency or CURRENCY)} off"
    if promotion.duration == Duration.REPEATING:
        return f"{off} for {promotion.duration_in_months} months"
    return f"{off} {'once' if promotion.duration == Duration.ONCE else 'forever'}"


def _duplicate_message(code: str) -> str:
    return (
        f"An active promotion code {code} already exists. Choose other text, or deactivate "
        "that one first."
    )
