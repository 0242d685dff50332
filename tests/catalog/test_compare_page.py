"""/boxes/ compares the boxes: what is inside, who each is for, what it costs a month at least."""

from __future__ import annotations

import re

from shop.catalog.models import Plan, lowest_monthly_cents
from shop.extensions import db
from tests.builders.billing import make_plan
from tests.builders.content import make_box
from tests.helpers import text_of, visible_text


def test_from_price_is_the_lowest_price_a_month_rounded_to_the_cent() -> None:
    plans = [
        Plan(term_months=1, price_cents=4995),
        Plan(term_months=3, price_cents=13995),
        Plan(term_months=12, price_cents=49995),  # 4166.25 a month
    ]
    assert lowest_monthly_cents(plans) == 4166
    assert lowest_monthly_cents([Plan(term_months=6, price_cents=29999)]) == 5000  # 4999.83
    assert lowest_monthly_cents([]) is None


def test_each_box_shows_who_it_is_for_what_is_inside_and_its_from_price(client) -> None:  # type: ignore[no-untyped-def]
    men = make_box("musclebox", "MuscleBox", position=1)
    women = make_box("miss-musclebox", "Miss MuscleBox", position=2)
    make_plan(men, term_months=1, price_cents=4995)
    make_plan(men, term_months=12, price_cents=49995)
    make_plan(women, term_months=1, price_cents=4495)
    make_plan(women, term_months=3, price_cents=12495)
    cheap_but_retired = make_plan(women, term_months=12, price_cents=1200)
    cheap_but_retired.is_active = False
    women.image_path = "img/boxes/miss-musclebox.svg"
    db.session.commit()

    response = client.get("/boxes/")
    assert response.status_code == 200
    text = visible_text(response)
    assert "MuscleBox From $41.66 AUD a month" in text
    assert "Miss MuscleBox From $41.65 AUD a month" in text  # 12495 / 3, not the retired plan
    assert "$1.00 AUD" not in text
    assert "Who it's for MuscleBox tagline" in text
    assert "What's inside Protein bar Shaker" in text
    assert "each term's price divided by its number of months, rounded to the cent" in text
    page = text_of(response)
    assert 'href="/boxes/musclebox">See the MuscleBox</a>' in page
    assert 'href="/boxes/miss-musclebox">See the Miss MuscleBox</a>' in page
    assert re.search(
        r'<img src="/static/img/boxes/miss-musclebox\.svg[^"]*" alt="The Miss MuscleBox"', page
    )


def test_a_box_without_plans_is_shown_without_a_price(client) -> None:  # type: ignore[no-untyped-def]
    make_box("protein-musclebox", "Protein MuscleBox")
    text = visible_text(client.get("/boxes/"))
    assert "Protein MuscleBox" in text and "From $" not in text


def test_the_comparison_lists_boxes_in_their_order(client) -> None:  # type: ignore[no-untyped-def]
    make_box("second", "Second Box", position=2)
    make_box("first", "First Box", position=1)
    page = text_of(client.get("/boxes/"))
    assert re.findall(r'class="compare-name">([^<]+)<', page) == ["First Box", "Second Box"]
