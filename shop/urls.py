"""Absolute URLs built from SITE_URL, never from the request's Host header."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """SITE_URL + the endpoint's path; works in requests, commands and jobs alike."""
    if has_request_context():
        return current_app.config["SITE_URL"] + url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return current_app.config["SITE_URL"] + url_for(endpoint, **values)
