"""Response headers shared by the pages that belong to one signed-in person."""

from __future__ import annotations

from flask import Response


def private_page(response: Response) -> Response:
    """Never cached, never indexed: the page is about the person who asked for it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.vary.add("Cookie")
    return response
