"""Absolute URLs built from SITE_URL, never from the request's Host header."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    return current_app.config["SITE_URL"] + url_for(endpoint, **values)
