"""Forms of the article editor and the authors' pages.

Limits come from the columns (title 200, slug 160, alt text 255, ...) so a form error, never a
database error, tells the admin something is too long. Dates are typed in the shop's time zone
(SHOP_TIMEZONE, Australia/Sydney) and become UTC here; the service decides what a date means for
the chosen status (a schedule in the past, a publication in the future).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

from shop.blog.models import ArticleStatus
from shop.blog.services import (
    AUTHOR_SOCIAL_NETWORKS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    SLUG_PATTERN,
    split_tags,
)
from shop.dates import shop_timezone
from shop.forms import no_direction_controls, one_line, strip_text
from shop.site.params import as_id

MAX_TITLE = 200
MAX_SLUG = 160
MAX_EXCERPT = 1000
MAX_BODY = 200_000
MAX_ALT = 255
MAX_TAGS_TEXT = 1000
MAX_AUTHOR_NAME = 120
MAX_AUTHOR_SLUG = 80
MAX_CREDENTIALS = 200
MAX_BIO = 5000
MAX_SOCIAL = 300
DIRECTION_MESSAGE = "Please remove the hidden text-direction characters from {what}."
# Where a year outside this is typed, it is a slip of the keyboard (and 0001 would not even
# convert to UTC).
FIRST_YEAR, LAST_YEAR = 2000, 2999

STATUS_LABELS: dict[ArticleStatus, str] = {
    ArticleStatus.DRAFT: "Draft",
    ArticleStatus.SCHEDULED: "Scheduled",
    ArticleStatus.PUBLISHED: "Published",
}


def _slug_shape(form: FlaskForm, field: StringField) -> None:
    if field.data and not SLUG_PATTERN.fullmatch(field.data):
        raise ValidationError(
            "Use lowercase letters, digits and single hyphens only, like “deadlift-basics”."
        )


def _tags_shape(form: FlaskForm, field: StringField) -> None:
    names = split_tags(field.data or "")
    if len(names) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags, please.")
    for name in names:
        if len(name) > MAX_TAG_LENGTH:
            raise ValidationError(f"A tag is at most {MAX_TAG_LENGTH} characters: “{name[:20]}…”.")
        if not re.search(r"[A-Za-z0-9]", name):
            raise ValidationError(f"The tag “{name}” needs a letter or a digit.")


def _a_real_year(form: FlaskForm, field: DateTimeLocalField) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}.")


def _required_line(label: str, *, what: str, most: int, missing: str) -> StringField:
    """A required line of text (a title, a name): at most `most` characters, no hidden
    text-direction characters; `what` names it in the messages."""
    return StringField(
        label,
        filters=[one_line],
        validators=[
            DataRequired(missing),
            Length(max=most, message=f"A {what} is at most {most} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what=f"the {what}")),
        ],
    )


def _slug_field(label: str, *, most: int) -> StringField:
    """An optional slug (made from the title or name when empty) of at most `most` characters."""
    return StringField(
        label,
        filters=[strip_text],
        validators=[
            Length(max=most, message=f"A slug is at most {most} characters."),
            _slug_shape,
        ],
        render_kw={"spellcheck": "false", "autocapitalize": "none", "autocomplete": "off"},
    )


class LocalDateTimeField(DateTimeLocalField):
    """A browser's date-and-time input, with a message an admin understands when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter a date and time, like 2027-01-31 09:00.") from error


class ArticleForm(FlaskForm):
    """An article as the editor sends it (new or changed). Choices of `author_id` are set by
    the view from the authors there are."""

    title = _required_line(
        "Title", what="title", most=MAX_TITLE, missing="An article needs a title."
    )
    slug = _slug_field("Slug (the address: /blog/…)", most=MAX_SLUG)
    author_id = SelectField("Author", validate_choice=True, coerce=str)
    excerpt = TextAreaField(
        "Excerpt",
        filters=[strip_text],
        validators=[
            Length(max=MAX_EXCERPT, message=f"An excerpt is at most {MAX_EXCERPT} characters.")
        ],
        render_kw={"rows": 3},
    )
    tags = StringField(
        "Tags",
        filters=[strip_text],
        validators=[
            Length(max=MAX_TAGS_TEXT, message=f"Tags are at most {MAX_TAGS_TEXT} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what="the tags")),
            _tags_shape,
        ],
        render_kw={"autocomplete": "off"},
    )
    hero_image = FileField(
        "Hero image", render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif"}
    )
    remove_hero_image = BooleanField("Remove the hero image")
    hero_image_alt = StringField(
        "Hero image alt text",
        filters=[one_line],
        validators=[
            Length(max=MAX_ALT, message=f"Alt text is at most {MAX_ALT} characters."),
        ],
    )
    body = TextAreaField(
        "Article (Markdown)",
        validators=[
            DataRequired("An article needs a body."),
            Length(max=MAX_BODY, message=f"An article is at most {MAX_BODY:,} characters."),
        ],
        render_kw={"rows": 20, "spellcheck": "true"},
    )
    status = RadioField(
        "Status",
        choices=[SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
        default=ArticleStatus.DRAFT.value,
        validators=[InputRequired("Choose draft, scheduled or published.")],
    )
    publish_at = LocalDateTimeField(
        "Publication date and time (Sydney time)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional(), _a_real_year],
    )

    @property
    def article_status(self) -> ArticleStatus:
        return ArticleStatus(self.status.data)

    def validate_publish_at(self, field: LocalDateTimeField) -> None:
        if field.data is None or field.errors:  # empty (Optional) or already refused
            return
        local = field.data.replace(tzinfo=shop_timezone())
        # A time the clocks skip when daylight saving starts does not exist.
        round_trip = local.astimezone(UTC).astimezone(shop_timezone()).replace(tzinfo=None)
        if round_trip != field.data:
            raise ValidationError(
                "That time doesn't exist in Sydney (the clocks jump forward an hour then). "
                "Choose a time an hour later."
            )

    @property
    def publish_at_utc(self) -> datetime | None:
        if self.publish_at.data is None:
            return None
        return self.publish_at.data.replace(tzinfo=shop_timezone()).astimezone(UTC)


class ConfirmDeleteForm(FlaskForm):
    """The confirmation page's button: `confirm` says the POST came from that page."""

    confirm = HiddenField(
        validators=[InputRequired("Confirm on the page first."), AnyOf(["delete"])]
    )


def _social_handle_or_url(form: FlaskForm, field: StringField) -> None:
    value = field.data or ""
    if not value:
        return
    if value.lower().startswith(("http://", "https://")):
        parts = urlsplit(value)
        if not parts.hostname or "." not in parts.hostname or " " in value:
            raise ValidationError("Enter a web address like https://example.com/name.")
        return
    if field.name == "website":
        raise ValidationError("Enter a web address starting with https://.")
    if not re.fullmatch(r"@?[A-Za-z0-9._-]{1,100}", value):
        raise ValidationError("Enter a handle like @name, or the profile's web address.")


def _social_field(label: str) -> StringField:
    return StringField(
        label,
        filters=[strip_text],
        validators=[
            Length(max=MAX_SOCIAL, message=f"At most {MAX_SOCIAL} characters."),
            _social_handle_or_url,
        ],
        render_kw={"spellcheck": "false", "autocapitalize": "none"},
    )


class AuthorForm(FlaskForm):
    name = _required_line(
        "Name", what="name", most=MAX_AUTHOR_NAME, missing="An author needs a name."
    )
    slug = _slug_field("Slug", most=MAX_AUTHOR_SLUG)
    credentials = StringField(
        "Credentials",
        filters=[one_line],
        validators=[
            Length(max=MAX_CREDENTIALS, message=f"At most {MAX_CREDENTIALS} characters."),
            no_direction_controls(DIRECTION_MESSAGE.format(what="the credentials")),
        ],
    )
    bio = TextAreaField(
        "Bio",
        filters=[strip_text],
        validators=[Length(max=MAX_BIO, message=f"A bio is at most {MAX_BIO:,} characters.")],
        render_kw={"rows": 5},
    )
    website = _social_field("Website")
    instagram = _social_field("Instagram")
    facebook = _social_field("Facebook")
    youtube = _social_field("YouTube")
    tiktok = _social_field("TikTok")
    x = _social_field("X (Twitter)")

    SOCIAL_FIELDS = AUTHOR_SOCIAL_NETWORKS

    def social_values(self) -> dict[str, str]:
        return {name: self[name].data or "" for name in self.SOCIAL_FIELDS}


def chosen_id(raw: str | None) -> int | None:
    """An id picked in a select, or None for anything no id could be."""
    return as_id(raw)
