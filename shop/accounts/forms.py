"""Customer forms: asking for a sign-in link, and the one-button forms (CSRF only)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length, ValidationError

from shop.comments.forms import strip_text

MAX_EMAIL = 254


def _valid_email(form: FlaskForm, field: EmailField) -> None:
    if len(field.data or "") > MAX_EMAIL:
        return  # Length has said so already
    try:
        validate_email(field.data or "", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError("Please enter a valid email address, like jo@example.com.") from exc


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[strip_text],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=MAX_EMAIL, message=f"Please keep it under {MAX_EMAIL} characters."),
            _valid_email,
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false", "maxlength": MAX_EMAIL},
    )


class ButtonForm(FlaskForm):
    """A form that is only a button: signing in from a link, signing out, opening billing."""
