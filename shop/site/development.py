"""Development settings are for this computer only.

SHOP_ENV defaults to development, where the outbox shows every sign-in link and cookies are not
marked Secure. A deployment that forgets SHOP_ENV=production must not offer that to the internet,
so with development settings the shop answers loopback clients only: a request from any other
address, or one that came through a proxy (it carries X-Forwarded-For or Forwarded, so it began
somewhere else), gets a 403 page saying what to set.
"""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address

from flask import Response, make_response, render_template, request

# Headers a proxy or CDN adds on behalf of the client it forwards for. A bare proxy may add
# none: that is why the outbox is also served only by `make run`'s own server (DEV_OUTBOX) and
# gunicorn refuses to start without SHOP_ENV (gunicorn.conf.py).
PROXY_HEADERS = (
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-Port",
    "X-Forwarded-Server",
    "Forwarded",
    "X-Real-IP",
    "Via",
    "CF-Connecting-IP",
    "True-Client-IP",
    "X-Client-IP",
)
REFUSED_TITLE = "This shop is running with development settings"
REFUSED_ADVICE = (
    "With development settings the shop only answers this computer (127.0.0.1), because its "
    "development pages show sign-in links and its cookies are not secure. To serve other "
    "visitors, set SHOP_ENV=production (with its SECRET_KEY, DATABASE_URL and the rest) and "
    "restart the shop."
)


def is_loopback_request() -> bool:
    """Whether the request came straight from this computer (no proxy in between)."""
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def refuse_remote_clients() -> Response | None:
    """before_request with development settings: 403 for anyone but this computer."""
    if is_loopback_request():
        return None
    page = render_template(
        "errors/error.html", status=403, title=REFUSED_TITLE, advice=REFUSED_ADVICE, detail=None
    )
    response = make_response(page, 403)
    response.headers["Cache-Control"] = "no-store"
    return response
