"""Customer forms: asking for a sign-in link, and the one-button forms (CSRF only)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from shop.forms import strip_text, valid_email

MAX_EMAIL = 254


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[strip_text],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=MAX_EMAIL, message=f"Please keep it under {MAX_EMAIL} characters."),
            valid_email("Please enter a valid email address, like jo@example.com.", MAX_EMAIL),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false", "maxlength": MAX_EMAIL},
    )


class ButtonForm(FlaskForm):
    """A form that is only a button: signing in from a link, signing out, opening billing."""
