"""The header's logo (contrast, a name that matches what it shows) and the home page's hero."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from shop.extensions import db
from tests.builders.content import make_box
from tests.helpers import text_of

SITE_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "site.css"


class _BrandLink(HTMLParser):
    """The first `a.brand`: its attributes and the text a screen reader gets from it."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] | None = None
        self.text = ""
        self._depth = 0
        self._hidden_at: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.attrs is None and tag == "a" and "brand" in (found.get("class") or "").split():
            self.attrs, self._depth = found, 1
            return
        if self._depth:
            self._depth += 1
            if found.get("aria-hidden") == "true" and self._hidden_at is None:
                self._hidden_at = self._depth

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            if self._hidden_at == self._depth:
                self._hidden_at = None
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and self._hidden_at is None:
            self.text += data


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _css_colour(css: str, variable: str) -> str:
    match = re.search(rf"{variable}:\s*(#[0-9a-fA-F]{{6}})\b", css)
    assert match, variable
    return match.group(1)


def test_the_logo_link_is_named_by_the_words_it_shows(client) -> None:  # type: ignore[no-untyped-def]
    brand = _BrandLink()
    brand.feed(text_of(client.get("/boxes/")))
    assert brand.attrs is not None
    # An aria-label would replace the visible words (label in name, WCAG 2.5.3).
    assert "aria-label" not in brand.attrs
    name = " ".join(brand.text.split())
    assert name.startswith("MuscleBox") and "home" in name


def test_the_box_in_the_logo_is_readable_on_the_dark_header() -> None:
    css = SITE_CSS.read_text(encoding="utf-8")
    rule = re.search(r"\.brand-box\s*\{([^}]*)\}", css)
    assert rule and "var(--brand-on-dark)" in rule.group(1)
    header = re.search(r"\.site-header\s*\{[^}]*background:\s*var\((--[\w-]+)\)", css)
    assert header
    ratio = _contrast(_css_colour(css, "--brand-on-dark"), _css_colour(css, header.group(1)))
    assert ratio >= 4.5, ratio


def test_the_hero_shows_each_box_and_says_what_is_inside(client) -> None:  # type: ignore[no-untyped-def]
    for position, slug in enumerate(("musclebox", "miss-musclebox", "protein-musclebox")):
        box = make_box(slug, slug.replace("-", " ").title(), position=position)
        box.image_path = f"img/boxes/{slug}.svg"
        box.image_alt = f"Inside the {slug}: bars and a shaker"
    db.session.commit()
    page = text_of(client.get("/"))
    hero = page[page.index('<section class="hero">') : page.index("</section>")]
    assert re.findall(r'<img src="/static/img/boxes/([\w-]+)\.svg[^"]*" alt="([^"]+)"', hero) == [
        ("musclebox", "Inside the musclebox: bars and a shaker"),
        ("miss-musclebox", "Inside the miss-musclebox: bars and a shaker"),
        ("protein-musclebox", "Inside the protein-musclebox: bars and a shaker"),
    ]


def test_the_hero_has_no_art_without_boxes(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get("/"))
    assert "hero-art" not in page and "Train hard." in page
