"""Markdown to safe HTML for articles, plus reading time and excerpts.

Headings: the article page's one h1 is the article's title, so a body's headings start at h2.
When a body uses level-1 headings (`# Heading`, or one underlined with ===), every heading in it
moves down one level (# → h2, ## → h3, … ##### and ###### → h6), keeping the body's own outline;
a body without level-1 headings is rendered as written. Raw HTML headings are not Markdown and
the sanitiser keeps only h2-h6 of them (an `<h1>` there keeps its text, not its tag).

`render_markdown` is the one renderer for saving, the editor's preview and `flask
render-articles` (which re-renders stored bodies after a change here).
"""

from __future__ import annotations

import math
import re
from html import unescape as html_unescape

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

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
    env: dict[str, object] = {}
    tokens = _markdown.parse(source, env)
    _demote_headings(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, env)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    )


def _demote_headings(tokens: list[Token]) -> None:
    """Move every heading down one level when any is level 1 (the page title's level)."""
    headings = [token for token in tokens if token.type in ("heading_open", "heading_close")]
    if not any(token.tag == "h1" for token in headings):
        return
    for token in headings:
        token.tag = f"h{min(6, int(token.tag[1:]) + 1)}"


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
