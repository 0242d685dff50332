"""Forms of the admin area: signing in, moderating comments, editing and replying."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, ValidationError

from shop.billing.models import ShipmentStatus
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


class ShipmentStatusForm(FlaskForm):
    status = StringField(validators=[AnyOf([s.value for s in ShipmentStatus])])
