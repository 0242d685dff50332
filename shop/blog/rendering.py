"""Markdown to safe HTML for articles, plus reading time and excerpts."""

from __future__ import annotations

import math
import re
from html import unescape as html_unescape

import nh3
from markdown_it import MarkdownIt

WORDS_PER_MINUTE = 200

_markdown = MarkdownIt("commonmark", {"typographer": True}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "del", "em", "figcaption", "figure", "h2", "h3",
    "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}


def render_markdown(source: str) -> str:
    """Render article Markdown and sanitise the result: no scripts, styles or event handlers."""
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    )


def reading_minutes(source: str) -> int:
    """Minutes to read the text at a steady pace; at least one."""
    return max(1, math.ceil(len(re.findall(r"\w+", source)) / WORDS_PER_MINUTE))


def plain_excerpt(source: str, limit: int = 240) -> str:
    """The first paragraph of the Markdown as plain text, cut at a word boundary."""
    html = _markdown.render(source)
    paragraph = re.search(r"<p>(.*?)</p>", html, re.DOTALL)
    text = nh3.clean(paragraph.group(1) if paragraph else html, tags=set())
    first = re.sub(r"\s+", " ", html_unescape(text)).strip()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:.…") + "…"
