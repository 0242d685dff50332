"""Postal addresses as values: states, postcode ranges, Stripe's shape, the columns they live in."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shop.accounts.addresses import (
    AUSTRALIAN_STATES,
    FIELDS,
    PostalAddress,
    address_of,
    postcode_matches_state,
    store_address,
)

HOME = PostalAddress(
    name="Jo Lifter",
    line1="5 King St",
    line2="Unit 2",
    city="Newtown",
    state="NSW",
    postal_code="2042",
    country="AU",
)


def test_every_state_and_territory_is_listed_by_its_abbreviation():
    assert sorted(AUSTRALIAN_STATES) == ["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"]
    assert AUSTRALIAN_STATES["ACT"] == "Australian Capital Territory"


@pytest.mark.parametrize(
    ("postcode", "state"),
    [
        ("2000", "NSW"),  # Sydney
        ("2600", "ACT"),  # Canberra
        ("2618", "ACT"),
        ("2620", "NSW"),  # Queanbeyan, next door to Canberra but in NSW
        ("2900", "ACT"),  # Tuggeranong
        ("0200", "ACT"),  # ANU's PO boxes
        ("0800", "NT"),  # Darwin
        ("0872", "NT"),
        ("3000", "VIC"),
        ("8001", "VIC"),
        ("4000", "QLD"),
        ("9726", "QLD"),
        ("5000", "SA"),
        ("6000", "WA"),
        ("6999", "WA"),
        ("7000", "TAS"),
    ],
)
def test_postcodes_belong_to_their_state(postcode, state):
    assert postcode_matches_state(postcode, state)
    others = [code for code in AUSTRALIAN_STATES if code != state]
    assert not any(postcode_matches_state(postcode, other) for other in others)


@pytest.mark.parametrize(
    ("postcode", "state"),
    [
        ("2000", "VIC"),  # a Sydney postcode with the wrong state
        ("2600", "NSW"),  # Canberra is not in NSW
        ("3000", "NSW"),
        ("800", "NT"),  # three digits: the leading zero matters
        ("08000", "NT"),
        ("20 00", "NSW"),
        ("2OOO", "NSW"),  # letter O, not zero
        ("", "NSW"),
        ("６０００", "WA"),  # full-width digits are digits to Python, not to Australia Post
        ("0100", "NT"),  # no state has it
        ("2000", "XX"),
        ("2000", "nsw"),
    ],
)
def test_bad_postcodes_and_wrong_states_do_not_match(postcode, state):
    assert not postcode_matches_state(postcode, state)


def test_an_address_goes_to_stripe_and_back_unchanged():
    assert PostalAddress.from_stripe(HOME.to_stripe()) == HOME
    assert HOME.to_stripe()["address"]["postal_code"] == "2042"


def test_stripe_shipping_without_a_street_is_no_address():
    assert PostalAddress.from_stripe(None) is None
    assert PostalAddress.from_stripe({"name": "Jo", "address": {"city": "Bondi"}}) is None
    partial = PostalAddress.from_stripe({"address": {"line1": "1 A St", "country": "au"}})
    assert partial == PostalAddress(line1="1 A St", country="AU")


def test_completeness_needs_street_town_postcode_and_country():
    assert HOME.is_complete
    assert not PostalAddress(line1="5 King St", city="Newtown", postal_code="2042").is_complete


def test_an_address_is_stored_whole_in_prefixed_columns():
    row = SimpleNamespace(**{f"ship_to_{field}": "old" for field in FIELDS})
    store_address(row, "ship_to_", HOME)
    assert address_of(row, "ship_to_") == HOME
    store_address(row, "ship_to_", PostalAddress(line1="1 A St"))
    assert address_of(row, "ship_to_") == PostalAddress(line1="1 A St"), "never a mix of two"


def test_delivery_problems_are_named():
    from shop.accounts.addresses import delivery_problem

    home = PostalAddress("Jo", "1 George St", "", "Sydney", "NSW", "2000", "AU")
    assert delivery_problem(home, ("AU",)) is None
    assert (
        delivery_problem(PostalAddress(line1="1 George St"), ("AU",))
        == "The address is incomplete."
    )
    abroad = PostalAddress("Jo", "1 Main St", "", "Boise", "ID", "83702", "US")
    assert delivery_problem(abroad, ("AU",)) == "The shop does not ship to US."
    wrong_state = PostalAddress("Jo", "1 George St", "", "Sydney", "VIC", "2000", "AU")
    assert delivery_problem(wrong_state, ("AU",)) == "Postcode 2000 is not in VIC."
