"""Comment text is plain text: escaped, paragraphs kept, web addresses made into links."""

from __future__ import annotations

import re
import zlib

from markupsafe import Markup, escape

from shop.comments.policy import URL_PATTERN

AVATAR_COLOURS = 8
_TRAILING = ".,;:!?)]}'\""


def _linkify(line: str) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in URL_PATTERN.finditer(line):
        url = match.group(0)
        trailing = ""
        while url and url[-1] in _TRAILING:
            trailing = url[-1] + trailing
            url = url[:-1]
        if not url:
            continue
        href = url if url.lower().startswith(("http://", "https://")) else "https://" + url
        parts.append(escape(line[position : match.start()]))
        parts.append(Markup('<a href="{}" rel="nofollow ugc noopener">{}</a>').format(href, url))
        parts.append(escape(trailing))
        position = match.end()
    parts.append(escape(line[position:]))
    return Markup("").join(parts)


def comment_html(text: str) -> Markup:
    """Paragraphs for blank-line breaks, <br> for single ones, links with rel=nofollow ugc."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_linkify(line) for line in p.split("\n")))
        for p in paragraphs
    )


def initials(name: str) -> str:
    """Up to two initials for a drawn avatar: "Sam Reader" → "SR"."""
    words = [w for w in re.split(r"[\s\-_.]+", name.strip()) if w and w[0].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_colour(name: str) -> int:
    """A stable colour index from the name (never from the email)."""
    return zlib.crc32(name.strip().lower().encode()) % AVATAR_COLOURS
