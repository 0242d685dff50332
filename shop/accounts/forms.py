"""Customer forms: asking for a sign-in link, the shipping address, and one-button forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from shop.accounts.addresses import AUSTRALIAN_STATES, PostalAddress, postcode_matches_state
from shop.forms import no_direction_controls, one_line, strip_text, valid_email

MAX_EMAIL = 254
# The shipping columns' sizes (shop.billing.models.ShipToMixin, accounts.Customer).
MAX_NAME = 255
MAX_LINE = 255
MAX_CITY = 120
COUNTRY = "AU"  # the shop ships within Australia only
DIRECTION_MESSAGE = (
    "Please remove the hidden text-direction characters (they can make it read as something "
    "else on the label)."
)


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[strip_text],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=MAX_EMAIL, message=f"Please keep it under {MAX_EMAIL} characters."),
            no_direction_controls(
                "Please remove the hidden text-direction characters from your email address."
            ),
            valid_email("Please enter a valid email address, like jo@example.com.", MAX_EMAIL),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false", "maxlength": MAX_EMAIL},
    )


class ButtonForm(FlaskForm):
    """A form that is only a button: signing in from a link, signing out, opening billing,
    skipping a box."""


def _too_long(limit: int) -> Length:
    return Length(max=limit, message=f"Please keep it under {limit} characters.")


_plain_direction = no_direction_controls(DIRECTION_MESSAGE)


def states_of(postcode: str) -> list[str]:
    """The states a postcode belongs to (usually one), for a helpful error."""
    return [code for code in AUSTRALIAN_STATES if postcode_matches_state(postcode, code)]


def _place(code: str) -> str:
    """A state's name as a sentence uses it: "Victoria", "the Northern Territory"."""
    name = AUSTRALIAN_STATES[code]
    return f"the {name}" if name.endswith("Territory") else name


class AddressForm(FlaskForm):
    """A whole Australian shipping address: the postcode must belong to the state chosen."""

    name = StringField(
        "Name on the parcel",
        filters=[one_line],
        validators=[
            DataRequired("Please enter who the box is for."),
            _too_long(MAX_NAME),
            _plain_direction,
        ],
        render_kw={"autocomplete": "shipping name", "maxlength": MAX_NAME},
    )
    line1 = StringField(
        "Street address",
        filters=[one_line],
        validators=[
            DataRequired("Please enter the street address, like 12 Bondi Rd."),
            _too_long(MAX_LINE),
            _plain_direction,
        ],
        render_kw={"autocomplete": "shipping address-line1", "maxlength": MAX_LINE},
    )
    line2 = StringField(
        "Apartment, unit or building (optional)",
        filters=[one_line],
        validators=[Optional(), _too_long(MAX_LINE), _plain_direction],
        render_kw={"autocomplete": "shipping address-line2", "maxlength": MAX_LINE},
    )
    city = StringField(
        "Suburb or town",
        filters=[one_line],
        validators=[
            DataRequired("Please enter the suburb or town."),
            _too_long(MAX_CITY),
            _plain_direction,
        ],
        render_kw={"autocomplete": "shipping address-level2", "maxlength": MAX_CITY},
    )
    state = SelectField(
        "State or territory",
        choices=[
            SelectChoice("", "Choose…"),
            *(SelectChoice(code, name) for code, name in AUSTRALIAN_STATES.items()),
        ],
        # An unknown value gets the message below, not WTForms' "Not a valid choice".
        validate_choice=False,
        validators=[DataRequired("Please choose the state or territory.")],
        render_kw={"autocomplete": "shipping address-level1"},
    )
    postal_code = StringField(
        "Postcode",
        filters=[one_line],
        validators=[
            DataRequired("Please enter the postcode."),
            Regexp(r"^[0-9]{4}\Z", message="A postcode has four digits, like 2000."),
        ],
        render_kw={
            "autocomplete": "shipping postal-code",
            "inputmode": "numeric",
            "maxlength": 4,
            "size": 6,
        },
    )

    def validate_state(self, field: Field) -> None:
        if field.data and field.data not in AUSTRALIAN_STATES:
            raise ValidationError("Please choose the state or territory from the list.")

    def validate_postal_code(self, field: Field) -> None:
        state, postcode = self.state.data, field.data or ""
        if (
            field.errors
            or state not in AUSTRALIAN_STATES
            or postcode_matches_state(postcode, state)
        ):
            return
        owners = states_of(postcode)
        if owners:
            where = " or ".join(_place(code) for code in owners)
            raise ValidationError(
                f"{postcode} is in {where}, not {_place(state)}. "
                "Please check the postcode and the state."
            )
        raise ValidationError(f"{postcode} isn't an Australian postcode. Please check it.")

    def fill_from(self, address: PostalAddress) -> None:
        """Pre-fill with the address the boxes go to now."""
        for field in ("name", "line1", "line2", "city", "state", "postal_code"):
            getattr(self, field).data = getattr(address, field)

    def address(self) -> PostalAddress:
        """The validated address, in Australia."""
        return PostalAddress(
            name=self.name.data or "",
            line1=self.line1.data or "",
            line2=self.line2.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            postal_code=self.postal_code.data or "",
            country=COUNTRY,
        )
