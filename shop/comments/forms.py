"""The comment form, with the server-side limits WordPress readers are used to."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from shop.forms import no_direction_controls, strip_text, valid_email
from shop.site.params import as_id

MAX_NAME = 245
MAX_EMAIL = 100
MAX_URL = 200
MAX_COMMENT = 65_525
DIRECTION_MESSAGE = (
    "Please remove the hidden text-direction characters from {what} (they can make it read "
    "as something else)."
)


def comment_text_field(label: str, required_message: str) -> TextAreaField:
    """A comment body: required, at most MAX_COMMENT characters (WordPress's limit)."""
    return TextAreaField(
        label,
        filters=[strip_text],
        validators=[
            DataRequired(required_message),
            Length(max=MAX_COMMENT, message=f"Please keep it under {MAX_COMMENT:,} characters."),
        ],
    )


# One label of a host name: letters or digits of any script, hyphens inside.
_HOST_LABEL = re.compile(r"[^\W_](?:[^\W_]|-){0,61}(?<!-)")


def _names_a_site(parts: SplitResult) -> bool:
    """A host of dot-separated labels and a numeric port if any: "../..", "%2e%2e" or a bare
    "localhost" name no site a reader could visit."""
    labels = (parts.hostname or "").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return False
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        return False
    return True


def _web_address(form: FlaskForm, field: StringField) -> None:
    value = field.data or ""
    if not value:
        return
    if "://" not in value and not value.lower().startswith(("javascript:", "data:", "vbscript:")):
        value = "https://" + value
        field.data = value
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced "[" (an IPv6 address that isn't one)
        parts = urlsplit("")
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or " " in value:
        raise ValidationError("Please enter a web address starting with http:// or https://.")
    if not _names_a_site(parts):
        raise ValidationError("Please enter a web address with a site name, like example.com.")
    if len(value) > MAX_URL:
        raise ValidationError(f"Please keep the web address under {MAX_URL} characters.")


def _parent(form: FlaskForm, field: HiddenField) -> None:
    if field.data and as_id(field.data) is None:
        raise ValidationError("The comment you're replying to isn't available.")


class CommentForm(FlaskForm):
    comment = comment_text_field("Comment", "Please write a comment.")
    author = StringField(
        "Name",
        filters=[strip_text],
        validators=[
            DataRequired("Please tell us your name."),
            Length(max=MAX_NAME, message=f"Please keep your name under {MAX_NAME} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what="your name")),
        ],
    )
    email = StringField(
        "Email",
        filters=[strip_text],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=MAX_EMAIL, message=f"Please keep your email under {MAX_EMAIL} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what="your email address")),
            valid_email("Please enter a valid email address.", MAX_EMAIL),
        ],
    )
    url = StringField(
        "Website",
        filters=[strip_text],
        validators=[
            Optional(),
            Length(max=MAX_URL, message=f"Please keep the web address under {MAX_URL} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what="the web address")),
            _web_address,
        ],
    )
    remember = BooleanField(
        "Save my name, email, and website in this browser for the next time I comment."
    )
    parent_id = HiddenField(validators=[_parent])
    # Shown to nobody: a person leaves it empty, a form-filling robot does not. Its name is
    # one no browser autofills (a "phone" field would be filled for real readers).
    mb_trap = StringField("Leave this field empty", filters=[strip_text])
    # When the form was rendered, signed so it cannot be faked.
    rendered_at = HiddenField()
