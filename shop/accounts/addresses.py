"""Postal addresses: one whole address as a value, Stripe's shape, and Australian rules.

Pure functions (no app, no database): the state and postcode rules are unit-tested. Australia
Post allocates postcodes to states in ranges; an address whose postcode belongs to another state
is almost always a typo, and a box sent there comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AUSTRALIAN_STATES: dict[str, str] = {
    "ACT": "Australian Capital Territory",
    "NSW": "New South Wales",
    "NT": "Northern Territory",
    "QLD": "Queensland",
    "SA": "South Australia",
    "TAS": "Tasmania",
    "VIC": "Victoria",
    "WA": "Western Australia",
}

# Postcode ranges per state (inclusive), including PO box and large-user ranges.
POSTCODE_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "NSW": ((1000, 2599), (2619, 2899), (2921, 2999)),
    "ACT": ((200, 299), (2600, 2618), (2900, 2920)),
    "VIC": ((3000, 3999), (8000, 8999)),
    "QLD": ((4000, 4999), (9000, 9999)),
    "SA": ((5000, 5999),),
    "WA": ((6000, 6797), (6800, 6999)),
    "TAS": ((7000, 7999),),
    "NT": ((800, 999),),
}


@dataclass(frozen=True)
class PostalAddress:
    """Where a box goes. Empty strings, never None."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""

    @property
    def is_complete(self) -> bool:
        return bool(self.line1 and self.city and self.postal_code and self.country)

    @classmethod
    def from_stripe(cls, shipping: dict[str, Any] | None) -> PostalAddress | None:
        """From Stripe's `shipping` ({name, address: {...}}); None when it has no street."""
        if not shipping:
            return None
        address = shipping.get("address") or {}
        if not address.get("line1"):
            return None
        return cls(
            name=shipping.get("name") or "",
            line1=address.get("line1") or "",
            line2=address.get("line2") or "",
            city=address.get("city") or "",
            state=address.get("state") or "",
            postal_code=address.get("postal_code") or "",
            country=(address.get("country") or "").upper(),
        )

    def to_stripe(self) -> dict[str, Any]:
        """Stripe's `shipping` parameter."""
        return {
            "name": self.name,
            "address": {
                "line1": self.line1,
                "line2": self.line2,
                "city": self.city,
                "state": self.state,
                "postal_code": self.postal_code,
                "country": self.country,
            },
        }

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def postcode_matches_state(postcode: str, state: str) -> bool:
    """True when a four-digit Australian postcode belongs to the state (ACT, NSW, ...)."""
    if len(postcode) != 4 or not (postcode.isascii() and postcode.isdigit()):
        return False
    number = int(postcode)
    return any(low <= number <= high for low, high in POSTCODE_RANGES.get(state, ()))


def delivery_problem(address: PostalAddress, countries: tuple[str, ...]) -> str | None:
    """Why a box cannot be sent to this address, or None when it can. Addresses typed into
    Stripe's own pages (the billing portal) reach the shop unchecked."""
    if not address.is_complete:
        return "The address is incomplete."
    if address.country not in countries:
        return f"The shop does not ship to {address.country}."
    if address.country == "AU" and not postcode_matches_state(address.postal_code, address.state):
        return f"Postcode {address.postal_code} is not in {address.state or 'the given state'}."
    return None


def address_of(obj: object, prefix: str) -> PostalAddress:
    """The address kept in `obj`'s `<prefix>name`, `<prefix>line1`... columns."""
    return PostalAddress(**{field: getattr(obj, prefix + field) or "" for field in FIELDS})


def store_address(obj: object, prefix: str, address: PostalAddress) -> None:
    """Write a whole address into `obj`'s `<prefix>...` columns (never a mix of two)."""
    for field in FIELDS:
        setattr(obj, prefix + field, getattr(address, field))


FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country")
