"""Static files under content-hashed URLs: cached for a year by browsers, never stale.

The contract:

- `url_for("static", filename=...)` (every template links CSS, icons and box pictures that way)
  adds `?v=` and the first 12 hex digits of the SHA-256 of the file's bytes. Change one byte and
  the URL changes, so a browser holding the old file fetches the new one at once. A name that is
  not a file under static/ (missing, or a path out of the folder) gets no `v` and 404s as before.
- `GET /static/<file>?v=<its current hash>` answers `Cache-Control: public, max-age=31536000,
  immutable`: the browser keeps it a year without ever asking again, which is safe because those
  bytes will never be served under that URL with other content.
- Without `v`, or with any other `v` (an old page in a cache, a hand-typed URL, junk), the file is
  served as it is now with `Cache-Control: no-cache`: a browser may keep it but asks each time,
  with its ETag and Last-Modified, and gets 304 while the file is unchanged. A year-long promise
  is only made for bytes that match the URL.

A static file answer carries no session cookie and no `Vary: Cookie`: the file is the same for
everyone, and a signed-in customer's session cookie is re-signed on each visit, so a Vary on it
would make every browser ask again for every file on every page, year-long promise or not.

Hashes are computed lazily, once per file and process: a deploy (a new process) reads the new
files. Under development settings (`make run`) CSS is edited while the server runs, so each link
first compares the file's mtime and size with those it was hashed at (one stat, far cheaper than
reading and hashing the file for every link on every page) and hashes it again when they moved.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.security import safe_join

VERSION_ARG = "v"
VERSION_LENGTH = 12  # 48 bits: no two versions of one file collide in practice
IMMUTABLE = "public, max-age=31536000, immutable"  # a year, the longest HTTP caches honour
REVALIDATE = "no-cache"  # keep it, but ask (ETag, Last-Modified) before each use


@dataclass(frozen=True)
class _Hashed:
    mtime_ns: int
    size: int
    version: str


class StaticVersions:
    """The content hash of each file under a static folder, computed once (or again when the file
    moves on, with `recheck`). Keyed by normalised path, so there are at most as many entries as
    files, whatever spellings of a name requests use."""

    def __init__(self, recheck: bool) -> None:
        self._recheck = recheck
        self._known: dict[str, _Hashed] = {}
        self._lock = threading.Lock()

    def version(self, folder: str | None, filename: str) -> str | None:
        """The file's version, or None when `filename` names no regular file inside `folder`."""
        path = safe_join(folder, filename) if folder else None
        if path is None:
            return None
        known = self._known.get(path)
        if known is not None and not self._recheck:
            return known.version
        try:
            found = os.stat(path)
        except (OSError, ValueError):  # missing, a name too long for the OS, ...
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        if known is not None and (known.mtime_ns, known.size) == (found.st_mtime_ns, found.st_size):
            return known.version
        try:
            with open(path, "rb") as file:
                version = hashlib.file_digest(file, "sha256").hexdigest()[:VERSION_LENGTH]
        except OSError:
            return None
        with self._lock:
            self._known[path] = _Hashed(found.st_mtime_ns, found.st_size, version)
        return version


def _versions() -> StaticVersions:
    versions: StaticVersions = current_app.extensions["static_versions"]
    return versions


def add_version(endpoint: str, values: dict[str, Any]) -> None:
    """`url_defaults` hook: put the file's version into every static URL that has none."""
    if endpoint != "static" or VERSION_ARG in values:
        return
    filename = values.get("filename")
    if isinstance(filename, str):
        version = _versions().version(current_app.static_folder, filename)
        if version is not None:
            values[VERSION_ARG] = version


def serve_static(filename: str) -> Response:
    """The static view: the file (404 when there is none), conditional, with the cache header its
    URL earns (see the module)."""
    folder = str(current_app.static_folder)
    response = send_from_directory(folder, filename)
    asked = request.args.get(VERSION_ARG, "")
    current = _versions().version(folder, filename) if asked else None
    response.headers["Cache-Control"] = IMMUTABLE if asked == current else REVALIDATE
    # Cache-Control alone says how long, whatever SEND_FILE_MAX_AGE_DEFAULT may be set to.
    response.headers.pop("Expires", None)
    return response


class SessionlessStaticFiles(SecureCookieSessionInterface):
    """Flask's cookie session, left unsaved (no Set-Cookie, no `Vary: Cookie`) on a static file
    answer. Flask-Login reads the session after every request, which would otherwise mark every
    response as varying by cookie. An error page keeps its session: it may carry a form."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint == "static" and response.status_code < 400:
            return
        super().save_session(app, session, response)


def init_static_files(app: Flask) -> None:
    """Version static URLs and serve static files by the rules above."""
    app.extensions["static_versions"] = StaticVersions(
        recheck=app.config["SHOP_ENV"] == "development"
    )
    app.url_defaults(add_version)
    if app.has_static_folder:
        app.view_functions["static"] = serve_static
    if type(app.session_interface) is SecureCookieSessionInterface:  # not one set on purpose
        app.session_interface = SessionlessStaticFiles()
