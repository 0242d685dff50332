"""Absolute URLs built from SITE_URL, never from the request's Host header."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for
from flask.globals import request_ctx


def absolute_url(endpoint: str, **values: Any) -> str:
    """SITE_URL + the endpoint's path; works in requests, commands and jobs alike."""
    site_url = current_app.config["SITE_URL"]
    # A request for a Host outside TRUSTED_HOSTS has no URL adapter: build as a job would.
    if has_request_context() and request_ctx.url_adapter is not None:
        return site_url + url_for(endpoint, **values)
    # The stand-in request carries SITE_URL's host, which TRUSTED_HOSTS always lists.
    with current_app.test_request_context("/", base_url=site_url):
        return site_url + url_for(endpoint, **values)
