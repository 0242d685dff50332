"""Each box has its own drawing of what is inside, not one picture recoloured."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from shop.demo import BOXES

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.mark.parametrize("box", BOXES, ids=lambda box: box["slug"])
def test_box_art_is_a_small_sized_svg_with_a_title(box: dict) -> None:  # type: ignore[type-arg]
    path = STATIC / box["image_path"]
    assert path.stat().st_size < 6_000
    svg = ElementTree.parse(path).getroot()
    assert svg.get("viewBox") == "0 0 480 320"
    assert (svg.get("width"), svg.get("height")) == ("480", "320")
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and box["name"] in (title.text or "")


def test_the_three_drawings_differ_in_more_than_colour() -> None:
    def shapes_of(box: dict) -> str:  # type: ignore[type-arg]
        svg = (STATIC / box["image_path"]).read_text(encoding="utf-8")
        svg = re.sub(r"<(title|text)\b.*?</\1>", "", svg, flags=re.S)  # words are not drawings
        return re.sub(r'(fill|stroke|opacity)="[^"]*"', "", svg)

    shapes = {shapes_of(box) for box in BOXES}
    assert len(shapes) == len(BOXES)


def test_the_demo_alt_text_says_what_is_in_each_box() -> None:
    inside = {
        "musclebox": ("shaker", "resistance band", "protein bar", "towel"),
        "miss-musclebox": ("loop bands", "water bottle", "snack bars", "hair ties", "towel"),
        "protein-musclebox": ("whey protein", "scoop", "protein bars", "sachets"),
    }
    for box in BOXES:
        for thing in inside[box["slug"]]:
            assert thing in box["image_alt"], (box["slug"], thing)
