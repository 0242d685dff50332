"""Small pieces every domain's forms share: a white-space filter and the email check."""

from __future__ import annotations

from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError


def strip_text(value: str | None) -> str | None:
    """WTForms filter: surrounding white space is never part of what was typed."""
    return value.strip() if isinstance(value, str) else value


def one_line(value: str | None) -> str | None:
    """WTForms filter for a field printed on a label: any run of white space, line breaks and
    tabs included, becomes one space, and the ends are trimmed."""
    return " ".join(value.split()) if isinstance(value, str) else value


def valid_email(message: str, max_length: int) -> Callable[[FlaskForm, Field], None]:
    """A validator: a well-formed address (no DNS lookup); over-long ones are Length's to report."""

    def check(form: FlaskForm, field: Field) -> None:
        if len(field.data or "") > max_length:
            return
        try:
            validate_email(field.data or "", check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(message) from exc

    return check
