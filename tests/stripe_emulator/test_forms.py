"""The bracket-notation decoder."""

import pytest

from shop.stripe_emulator.errors import StripeError
from shop.stripe_emulator.forms import decode_params


def test_nested_hashes_and_indexed_arrays() -> None:
    params = decode_params(
        [
            ("line_items[0][price]", "price_1"),
            ("line_items[0][quantity]", "2"),
            ("line_items[1][price]", "price_2"),
            ("metadata[order_id]", "42"),
            ("expand[]", "customer"),
            ("expand[]", "subscription"),
        ]
    )
    assert params == {
        "line_items": [{"price": "price_1", "quantity": "2"}, {"price": "price_2"}],
        "metadata": {"order_id": "42"},
        "expand": ["customer", "subscription"],
    }


def test_indexes_sort_numerically_and_empty_values_survive() -> None:
    pairs = [(f"ids[{i}]", f"p{i}") for i in range(12)] + [("pause_collection", "")]
    params = decode_params(reversed(pairs))
    assert params["ids"] == [f"p{i}" for i in range(12)]
    assert params["pause_collection"] == ""


@pytest.mark.parametrize("key", ["[x]", "a]b", "a[b", "a[b]c"])
def test_malformed_keys_are_400(key: str) -> None:
    with pytest.raises(StripeError) as info:
        decode_params([(key, "v")])
    assert info.value.status == 400


def test_conflicting_shapes_are_400() -> None:
    with pytest.raises(StripeError):
        decode_params([("metadata", "x"), ("metadata[a]", "b")])
