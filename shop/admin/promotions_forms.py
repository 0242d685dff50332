"""The form that creates a promotion code, and the button that deactivates one.

Limits (why each is what it is) are here, once; the template reads them from the fields.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from shop.billing.promotions import DiscountKind, Duration, NewPromotion
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.forms import strip_text
from shop.money import format_money

CODE_MIN, CODE_MAX = 3, 30  # short enough to type on a phone, long enough not to be guessed
AMOUNT_MAX_CENTS = 100_000  # $1,000 AUD: more than any box costs for a year
MONTHS_MAX = 36  # Stripe allows more; three years covers every offer the shop makes
REDEMPTIONS_MAX = 1_000_000
EXPIRY_MAX = timedelta(days=5 * 366)  # an offer is a season, not a decade
SUBMISSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
CODE = re.compile(r"[A-Z0-9]+")
AMOUNT = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?")

KIND_LABELS = {DiscountKind.PERCENT: "A percentage off", DiscountKind.AMOUNT: "An amount off (AUD)"}
DURATION_LABELS = {
    Duration.ONCE: "The first payment only",
    Duration.REPEATING: "A number of months",
    Duration.FOREVER: "Every payment, forever",
}


def upper_code(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else value


def new_submission() -> str:
    """A fresh name for one submission of the form (see `NewPromotionForm.submission`)."""
    return secrets.token_urlsafe(16)


class NewPromotionForm(FlaskForm):
    """A coupon and its promotion code. Expiry is typed in the shop's time zone (Sydney)."""

    code = StringField(
        "Code",
        filters=[upper_code],
        validators=[
            InputRequired("Type the code customers will enter."),
            Length(
                min=CODE_MIN,
                max=CODE_MAX,
                message=f"A code is {CODE_MIN} to {CODE_MAX} letters and digits.",
            ),
        ],
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "autocapitalize": "characters",
            "maxlength": CODE_MAX,
        },
    )
    kind = RadioField(
        "Discount",
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=DiscountKind.PERCENT.value,
        validators=[InputRequired("Choose a percentage or an amount.")],
    )
    percent_off = IntegerField(
        "Percentage off",
        validators=[
            Optional(),
            NumberRange(min=1, max=100, message="A percentage is a whole number from 1 to 100."),
        ],
        render_kw={"inputmode": "numeric", "min": 1, "max": 100},
    )
    amount_off = StringField(
        "Amount off, in Australian dollars",
        filters=[strip_text],
        validators=[Length(max=12, message="Type an amount such as 10 or 12.50.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    duration = RadioField(
        "For how long",
        choices=[
            SelectChoice(duration.value, label) for duration, label in DURATION_LABELS.items()
        ],
        default=Duration.ONCE.value,
        validators=[InputRequired("Choose how long the discount lasts.")],
    )
    duration_in_months = IntegerField(
        "Number of months",
        validators=[
            Optional(),
            NumberRange(
                min=1, max=MONTHS_MAX, message=f"A number of months from 1 to {MONTHS_MAX}."
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 1, "max": MONTHS_MAX},
    )
    expires_at = DateTimeLocalField(
        "Expires (Sydney time, optional)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )
    max_redemptions = IntegerField(
        "Redemption limit (optional)",
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=REDEMPTIONS_MAX,
                message=f"A limit is a whole number from 1 to {REDEMPTIONS_MAX:,}.",
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    # Names this showing of the form: both requests of a double click carry the same one, so
    # Stripe's idempotency keys make them one promotion.
    submission = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields, then what one field's choice makes required of another (an empty
        optional field stops its own validators, so these are checked here)."""
        valid = super().validate(extra_validators)
        percent, months = self.percent_off, self.duration_in_months
        if self.kind.data == DiscountKind.PERCENT and percent.data is None and not percent.errors:
            percent.errors = [*percent.errors, "Type the percentage, from 1 to 100."]
            valid = False
        if self.duration.data == Duration.REPEATING and months.data is None and not months.errors:
            months.errors = [*months.errors, "Type for how many months the discount lasts."]
            valid = False
        return valid

    def validate_code(self, field: StringField) -> None:
        if field.data and not CODE.fullmatch(field.data):
            raise ValidationError("Use only the letters A to Z and digits, with no spaces.")

    def validate_amount_off(self, field: StringField) -> None:
        if self.kind.data != DiscountKind.AMOUNT:
            return
        cents = _cents(field.data or "")
        if cents is None:
            raise ValidationError("Type an amount in dollars, such as 10 or 12.50.")
        if not 1 <= cents <= AMOUNT_MAX_CENTS:
            raise ValidationError(
                f"An amount is from {format_money(1)} to {format_money(AMOUNT_MAX_CENTS)}."
            )

    def validate_expires_at(self, field: DateTimeLocalField) -> None:
        expires = self.expires_utc
        if expires is None:
            return
        now = utcnow()
        if expires <= now:
            raise ValidationError("That moment has passed. Choose a date and time to come.")
        if expires - now > EXPIRY_MAX:
            raise ValidationError("Choose an expiry within five years.")

    def validate_submission(self, field: HiddenField) -> None:
        if not SUBMISSION.fullmatch(field.data or ""):
            raise ValidationError("This form is out of date. Please reload the page.")

    @property
    def is_forged(self) -> bool:
        """Errors no one typing into the page can cause: refuse the request whole (400)."""
        return bool(self.submission.errors or self.kind.errors or self.duration.errors)

    @property
    def expires_utc(self) -> datetime | None:
        local = self.expires_at.data
        if local is None:
            return None
        # A wall-clock time in the shop's zone; fold=0 takes the first of a repeated hour.
        return local.replace(tzinfo=shop_timezone()).astimezone(UTC)

    def new_promotion(self) -> NewPromotion:
        """The validated promotion (call after `validate()`)."""
        kind = DiscountKind(self.kind.data)
        duration = Duration(self.duration.data)
        return NewPromotion(
            code=self.code.data or "",
            kind=kind,
            percent_off=self.percent_off.data if kind is DiscountKind.PERCENT else None,
            amount_off_cents=_cents(self.amount_off.data or "")
            if kind is DiscountKind.AMOUNT
            else None,
            duration=duration,
            duration_in_months=self.duration_in_months.data
            if duration is Duration.REPEATING
            else None,
            expires_at=self.expires_utc,
            max_redemptions=self.max_redemptions.data,
        )


class DeactivatePromotionForm(FlaskForm):
    """The confirmation button (the code's id is in the URL)."""


def _cents(text: str) -> int | None:
    """ "12.5" → 1250; None unless it is a plain amount in dollars."""
    if not AMOUNT.fullmatch(text):
        return None
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:
        return None
