"""The subscribe button's form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

MAX_ID = 2**31 - 1


class CheckoutForm(FlaskForm):
    plan_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    # A nonce rendered into each Subscribe button: one press, one Checkout Session.
    attempt = HiddenField(validators=[Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9_-]*$")])
