"""Compressed text responses (brotli or gzip), except where compression would leak a secret.

The rule: a response is compressed when the browser accepts an encoding we offer, its type is text
(HTML, CSS, JavaScript, XML, Atom, JSON, SVG, CSV, plain text), it is a 2xx other than a partial
206, and its body is at least `COMPRESS_MIN_SIZE` (500) bytes or of unknown length: below that the
encoding's own header and the CPU cost more than the bytes saved. It carries `Vary:
Accept-Encoding` so shared caches keep one copy per encoding. Public GET pages, the feed, the
sitemap and static files are compressed.

Never compressed, whatever the browser accepts (the BREACH attack): a response under `/admin` or
`/account`, and the answer to any request but GET and HEAD. Those pages carry a secret (a CSRF
token, a signed-in person's data) beside text the visitor controls (search boxes, form errors
echoing what was typed, query strings). Compressed, the length of such a page says whether an
attacker's guess matches part of the secret, and an attacker who can send the browser requests
and watch encrypted lengths recovers the secret byte by byte. Uncompressed, the length leaks
nothing. The cost is small: these pages are seen by a few people, not by every visitor.

Streamed responses stay streams: the library compresses a streamed text response chunk by chunk
as it is sent (gzip too, which its default leaves out for streams), never building it whole in
memory. Static files are the exception the library makes on purpose: it reads each one whole
(the largest is 24 KB) so that the compressed file has a Content-Length and conditional requests
get 304. The admin's shipments CSV, under `/admin`, is sent as it is, still streamed. Compressed
bodies are not cached by the library: a page carrying one visitor's CSRF token must never be
served to another. A strong ETag gets the encoding appended (`"abc:br"`), so a cache never
mistakes one encoding for another, and a conditional request carrying it still gets 304.

Compression is an `after_request` hook registered before any other, and Flask runs those hooks
in the reverse order, so it runs last: it sees the finished page (the shared page cache's
per-visitor values filled in, every header set); only the session cookie is added after it.
"""

from __future__ import annotations

import gzip

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.wrappers import Request as WerkzeugRequest

# The shop's text types. Fonts and icons are not here: the shop serves none.
TEXT_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/manifest+json",
    "image/svg+xml",
]
# Brotli first: at quality 5 it beats gzip -6 on every page and stylesheet of the shop (home
# 5.7 KB -> 1.34 KB against 1.54 KB; site.css 14.2 KB -> 3.6 KB against 3.9 KB) in under half a
# millisecond; the library's default quality 4 loses to gzip on CSS. gzip for everything else.
# zstd (at its fast levels larger than both here) and "deflate" (ambiguous: zlib-wrapped or raw)
# are left out: every browser that takes them takes gzip.
ALGORITHMS = ["br", "gzip"]
BROTLI_QUALITY = 5
PRIVATE_PREFIXES = ("/admin", "/account")
COMPRESSED_METHODS = frozenset({"GET", "HEAD"})


def may_compress(method: str, path: str) -> bool:
    """False for requests whose answer may hold a secret next to what the visitor typed."""
    if method not in COMPRESSED_METHODS:
        return False
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in PRIVATE_PREFIXES)


# A page the page cache keeps is compressed once, when it is kept, at the levels above; a kept page
# with a visitor's own values filled in differs for each visitor, so it is compressed for each at
# the fastest levels (brotli 1: about a tenth of a millisecond for an article page).
COPY_LEVELS = {"br": BROTLI_QUALITY, "gzip": 6}
FAST_LEVELS = {"br": 1, "gzip": 1}
MIN_SIZE = 500


def compressed(body: bytes, encoding: str, level: int) -> bytes:
    """`body` in a content coding of ALGORITHMS."""
    if encoding == "br":
        return bytes(brotli.compress(body, quality=level))
    return gzip.compress(body, compresslevel=level, mtime=0)


def compressed_copies(body: bytes, mimetype: str) -> dict[str, bytes]:
    """Every coding of a body that is worth compressing, made once to be served many times."""
    if mimetype not in TEXT_TYPES or len(body) < MIN_SIZE:
        return {}
    return {encoding: compressed(body, encoding, level) for encoding, level in COPY_LEVELS.items()}


def chosen_encoding(mimetype: str, size: int, asked: WerkzeugRequest | None = None) -> str | None:
    """The coding the answer of that type and size to this request (or `asked`) will be sent in
    (None: as is)."""
    asked = asked or request
    if mimetype not in TEXT_TYPES or size < MIN_SIZE or not may_compress(asked.method, asked.path):
        return None
    return asked.accept_encodings.best_match(ALGORITHMS)


def offer_copies(response: Response, copies: dict[str, bytes], *, fast: bool = False) -> None:
    """Tell the hook that `copies` are this response's body, compressed (used while no later hook
    changes the body); with `fast`, a coding without a copy is made at the fastest level."""
    response.compressed_copies = (response.response, copies, fast)  # type: ignore[attr-defined]


def _from_copies(response: Response) -> Response | None:
    offered = getattr(response, "compressed_copies", None)
    if offered is None or not 200 <= response.status_code < 300 or response.is_streamed:
        return None
    body_when_offered, copies, fast = offered
    encoding = chosen_encoding(response.mimetype, len(response.get_data()))
    if encoding is None:
        if response.mimetype in TEXT_TYPES:
            response.vary.add("Accept-Encoding")
        return response
    if response.response is body_when_offered and encoding in copies:
        data = copies[encoding]
    elif fast:
        data = compressed(response.get_data(), encoding, FAST_LEVELS[encoding])
    else:
        return None
    response.set_data(data)
    response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag and not weak:  # each coding is its own representation (as Flask-Compress marks it)
        response.set_etag(f"{etag}:{encoding}")
    return response


def compress_response(response: Response) -> Response:
    """Compress the response by the rule of this module (an `after_request` hook)."""
    if response.status_code == 206 or not may_compress(request.method, request.path):
        return response
    ready = _from_copies(response)
    if ready is not None:
        return ready
    compressor: Compress = current_app.extensions["compression"]
    result: Response = compressor.after_request(response)
    return result


def init_compression(app: Flask) -> None:
    """Configure Flask-Compress and register the hook; call before any other after_request hook
    is registered, so that it runs last."""
    app.config.setdefault("COMPRESS_MIMETYPES", TEXT_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ALGORITHMS)
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ALGORITHMS)
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    app.config.setdefault("COMPRESS_BR_LEVEL", BROTLI_QUALITY)
    app.config["COMPRESS_REGISTER"] = False  # our hook decides which responses it may touch
    # One per app: Flask-Compress keeps the settings it was set up with on the instance.
    app.extensions["compression"] = Compress(app)
    app.after_request(compress_response)
