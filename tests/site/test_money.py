"""One money format everywhere: "$154.95 AUD" (shop.money), in pages, emails and the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import render_template_string

from shop.money import format_money
from shop.stripe_emulator.pages.blueprint import describe_coupon
from shop.stripe_emulator.pages.blueprint import format_money as emulator_money

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (15495, "aud", "$154.95 AUD"),
        (4995, "AUD", "$49.95 AUD"),
        (0, "aud", "$0.00 AUD"),
        (5, "aud", "$0.05 AUD"),
        (123456789, "aud", "$1,234,567.89 AUD"),
        (-500, "aud", "-$5.00 AUD"),
        (1000, "nzd", "$10.00 NZD"),
        (1000, "eur", "€10.00 EUR"),
        (500, "jpy", "¥500 JPY"),
        (1200, "xyz", "12.00 XYZ"),
    ],
)
def test_money_is_symbol_two_decimals_space_code(cents: int, currency: str, text: str) -> None:
    assert format_money(cents, currency) == text


def test_money_is_aud_unless_told() -> None:
    assert format_money(4166) == "$41.66 AUD"


def test_the_template_filter_is_the_same_rule(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        text = render_template_string("{{ 15495|money }}|{{ 1000|money('nzd') }}|{{ none|money }}")
    assert text == "$154.95 AUD|$10.00 NZD|"


def test_the_stripe_emulator_pages_write_money_the_same_way() -> None:
    assert emulator_money(4500, "aud") == "$45.00 AUD"
    assert emulator_money(None, "aud") == "—"
    assert describe_coupon({"amount_off": 1000, "currency": "aud"}) == "$10.00 AUD off"


def test_no_template_writes_money_another_way() -> None:
    offenders = []
    for path in TEMPLATES.rglob("*.*"):
        if path.suffix not in (".html", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for old in ("|aud", "A$", "|money }} AUD", "currency|upper", "(AUD)"):
            if old in text:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {old}")
    assert offenders == []
