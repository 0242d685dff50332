"""Small pieces every domain's forms share: white-space filters, the email check and the refusal
of text-direction controls."""

from __future__ import annotations

import re
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


# Unicode's explicit direction controls: embeddings, overrides and isolates (U+202A to U+202E,
# U+2066 to U+2069). In a name, an email or a web address they only serve to make text read
# otherwise than it is ("moc.elgoog" shown as "google.com"); no one types them by hand.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def no_direction_controls(message: str) -> Callable[[FlaskForm, Field], None]:
    """A validator refusing text-direction overrides, embeddings and isolates."""

    def check(form: FlaskForm, field: Field) -> None:
        if isinstance(field.data, str) and DIRECTION_CONTROLS.search(field.data):
            raise ValidationError(message)

    return check
