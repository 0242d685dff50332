"""The shop answers to its own host names only (TRUSTED_HOSTS, derived from SITE_URL).

A request for any other Host (or, behind TRUSTED_PROXY_COUNT proxies, X-Forwarded-Host) gets a
400 before Flask sees it, so nothing the shop builds from a request — a redirect, a link, a
cached page — can name someone else's site. Flask's own TRUSTED_HOSTS check would also refuse
it, but too late to draw the site's error page (it cannot build URLs for a host it refuses), so
this small page is drawn here, with a link to the real address.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask


class RefuseUntrustedHosts:
    """WSGI middleware: 400 for a Host the app's TRUSTED_HOSTS does not list."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        trusted = self.app.config.get("TRUSTED_HOSTS")
        # Host names are case-insensitive: "Shop.Example" is the shop's, as a browser means it.
        host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")).lower()
        if "HTTP_HOST" in environ:
            environ["HTTP_HOST"] = host
        if trusted and not host_is_trusted(host, trusted):
            return self._refused()(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _refused(self) -> Response:
        site_url = escape(self.app.config["SITE_URL"])
        name = escape(self.app.config.get("SITE_NAME") or "The shop")
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Wrong address — {name}</title></head><body><main>"
            "<h1>This isn't the shop's address</h1>"
            f'<p>{name} only answers at <a href="{site_url}/">{site_url}</a>. '
            "Please go there instead.</p></main></body></html>"
        )
        response = Response(page, status=400, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response
