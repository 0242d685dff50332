"""Forms of the admin area: signing in, moderating comments, editing and replying, shipping."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, ValidationError

from shop.billing.calendar import BadMonth, parse_month
from shop.billing.models import ShipmentStatus
from shop.billing.shipping import CARRIERS
from shop.comments.forms import comment_text_field
from shop.comments.services import ModerationAction
from shop.forms import strip_text
from shop.site.params import as_id

ACTION_LABELS: dict[ModerationAction, str] = {
    ModerationAction.APPROVE: "Approve",
    ModerationAction.UNAPPROVE: "Unapprove",
    ModerationAction.SPAM: "Mark as spam",
    ModerationAction.TRASH: "Move to trash",
    ModerationAction.RESTORE: "Restore",
    ModerationAction.DELETE: "Delete permanently",
}


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[strip_text],
        validators=[DataRequired("Please enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Please enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ModerateForm(FlaskForm):
    """One action for one comment (the id is in the URL)."""

    # The select is drawn by the template (each tab offers its own actions); this checks it.
    action = StringField(
        "Action",
        validators=[
            InputRequired("Choose an action."),
            AnyOf([action.value for action in ModerationAction], "That isn't an action we know."),
        ],
    )

    @property
    def moderation_action(self) -> ModerationAction:
        return ModerationAction(self.action.data)


def _ids_in_range(form: FlaskForm, field: SelectMultipleField) -> None:
    if any(as_id(value) is None for value in field.data or []):
        raise ValidationError("Those aren't comments we know.")


class BulkModerateForm(ModerateForm):
    """One action for the comments ticked in the list."""

    ids = SelectMultipleField(
        "Comments", coerce=int, validate_choice=False, validators=[_ids_in_range]
    )


class CommentTextForm(FlaskForm):
    body = comment_text_field("Comment text", "A comment can't be empty.")


class ReplyForm(FlaskForm):
    body = comment_text_field("Your reply", "Write a reply first.")


SHIPMENT_STATUS_LABELS: dict[ShipmentStatus, str] = {
    ShipmentStatus.TO_PACK: "To pack",
    ShipmentStatus.PACKED: "Packed",
    ShipmentStatus.SHIPPED: "Shipped",
}
TRACKING_NUMBER_MAX = 100  # Shipment.tracking_number's column
# Carriers' numbers are Latin letters and digits, sometimes grouped by spaces or hyphens.
TRACKING_NUMBER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?")


def _shipment_ids_in_range(form: FlaskForm, field: SelectMultipleField) -> None:
    if any(as_id(value) is None for value in field.raw_data or []):
        raise ValidationError("Those aren't shipments we know.")


class MarkShipmentsForm(FlaskForm):
    """One status for the shipments ticked in the list (or the one row whose button was used).

    The status comes from the button pressed; carrier and tracking number only go with
    "shipped". Bad ids, statuses and carriers are a forged or stale request (400); a tracking
    number that is too long is the admin's typo, shown next to the field.
    """

    ids = SelectMultipleField(
        "Shipments", coerce=str, validate_choice=False, validators=[_shipment_ids_in_range]
    )
    status = StringField(
        "Mark as",
        validators=[
            InputRequired("Choose packed or shipped."),
            AnyOf([status.value for status in ShipmentStatus], "Choose packed or shipped."),
        ],
    )
    carrier = SelectField(
        "Carrier",
        choices=[SelectChoice("", "No carrier")] + [SelectChoice(name) for name in CARRIERS],
        default="",
    )
    tracking_number = StringField(
        "Tracking number",
        filters=[strip_text],
        validators=[
            Length(
                max=TRACKING_NUMBER_MAX,
                message=f"A tracking number is at most {TRACKING_NUMBER_MAX} characters.",
            )
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    # Errors on these fields mean the request wasn't made by this page: refuse it whole.
    REQUEST_FIELDS = ("ids", "status", "carrier", "csrf_token")

    @property
    def shipment_ids(self) -> list[int]:
        return [int(value) for value in self.ids.data or []]

    @property
    def shipment_status(self) -> ShipmentStatus:
        return ShipmentStatus(self.status.data)

    def validate_tracking_number(self, field: StringField) -> None:
        if field.data and self.status.data != ShipmentStatus.SHIPPED:
            raise ValidationError("A tracking number goes with “Mark shipped”.")
        if field.data and not TRACKING_NUMBER.fullmatch(field.data):
            # It goes into the customer's email and the carrier's tracking link: a pasted
            # link or sentence would make both nonsense.
            raise ValidationError(
                "A tracking number is letters and digits (spaces and hyphens allowed), as the "
                "carrier printed it. Paste the number, not the tracking link."
            )

    @property
    def is_forged(self) -> bool:
        return any(self[name].errors for name in self.REQUEST_FIELDS if name in self)


def _a_month(form: FlaskForm, field: HiddenField) -> None:
    try:
        parse_month(field.data)
    except BadMonth as error:
        raise ValidationError(str(error)) from error


class ShippingRunForm(FlaskForm):
    """Run the shipping of one month (the month is the page's)."""

    month = HiddenField(validators=[_a_month])


class HeldBoxDecisionForm(FlaskForm):
    """Send a held box after all, or cancel it (the box id is in the URL)."""

    decision = StringField(
        validators=[InputRequired("Choose send or cancel."), AnyOf(["send", "cancel"])]
    )

    @property
    def send(self) -> bool:
        return self.decision.data == "send"
