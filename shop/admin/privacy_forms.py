"""Forms of the privacy page: whose data, and the confirmation that erases it."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from shop.forms import DIRECTION_CONTROLS, strip_text

MAX_EMAIL = 254
# One @, something on each side, a dot in the domain, no spaces: the shop's customers come from
# Stripe, whose addresses are not all ones email_validator takes, so this is only a sanity check.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
CONFIRM = "yes"


def _email_shape(form: FlaskForm, field: Field) -> None:
    value = field.data or ""
    if len(value) > MAX_EMAIL:
        return  # Length says so
    if DIRECTION_CONTROLS.search(value) or not _EMAIL_SHAPE.fullmatch(value):
        raise ValidationError("Enter an email address, like sam@example.com.")


class PersonForm(FlaskForm):
    """An email address to look up, export or erase."""

    email = StringField(
        "Email address",
        filters=[strip_text],
        validators=[
            DataRequired("Enter the email address of the person who asked."),
            Length(max=MAX_EMAIL, message=f"An email address is at most {MAX_EMAIL} characters."),
            _email_shape,
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "type": "email"},
    )


def _confirmation(form: FlaskForm, field: Field) -> None:
    if field.data not in (None, "", CONFIRM):
        raise ValidationError("That isn't a confirmation this page sends.")


class EraseForm(PersonForm):
    """Erase: without `confirm` it asks first; with confirm=yes it erases."""

    confirm = HiddenField(validators=[_confirmation])

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == CONFIRM
