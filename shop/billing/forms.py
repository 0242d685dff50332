"""The subscribe button's form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange


class CheckoutForm(FlaskForm):
    plan_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
