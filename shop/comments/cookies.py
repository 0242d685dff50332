"""Signed values the comment form relies on: the commenter cookie and the form's time stamp."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from shop.site.page_cache import register_hole, register_personal

COMMENTER_COOKIE = "mb_commenter"
COMMENTER_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
MAX_REMEMBERED_IDS = 20


@dataclass
class CommenterCookie:
    """What the shop told this browser: the comments it posted and, if asked, the details."""

    comment_ids: list[int] = field(default_factory=list)
    name: str = ""
    email: str = ""
    url: str = ""

    @property
    def remembers_details(self) -> bool:
        return bool(self.name or self.email)


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _timed_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="comment-form-stamp")


def read_commenter_cookie() -> CommenterCookie:
    raw = request.cookies.get(COMMENTER_COOKIE)
    if not raw:
        return CommenterCookie()
    try:
        data = _serializer("commenter-cookie").loads(raw)
        ids = [int(i) for i in data.get("ids", [])][-MAX_REMEMBERED_IDS:]
        return CommenterCookie(
            comment_ids=ids,
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            url=str(data.get("url", "")),
        )
    except (BadSignature, AttributeError, TypeError, ValueError):
        return CommenterCookie()


def write_commenter_cookie(response: Response, cookie: CommenterCookie, remember: bool) -> None:
    """Set the cookie: the comment ids always; name, email and website only when asked to.

    Remembered details keep the cookie for a year; otherwise it ends with the browser session.
    """
    payload: dict[str, object] = {"ids": cookie.comment_ids[-MAX_REMEMBERED_IDS:]}
    if remember:
        payload.update(name=cookie.name, email=cookie.email, url=cookie.url)
    response.set_cookie(
        COMMENTER_COOKIE,
        _serializer("commenter-cookie").dumps(payload),
        max_age=COMMENTER_COOKIE_MAX_AGE if remember else None,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
        path="/",
    )


# A form older than this is not trusted to say when it was rendered (a robot could keep
# reusing one old stamp); the CSRF token expires sooner anyway, and a fresh form comes back.
FORM_STAMP_MAX_AGE = 2 * 24 * 60 * 60


def form_stamp() -> str:
    """A signed "the form was rendered now" value for the hidden field."""
    return _timed_serializer().dumps(time.time())


def seconds_since_stamp(stamp: str | None) -> float | None:
    """Seconds since the stamp was made; None if missing, forged, too old or from the future."""
    if not stamp:
        return None
    try:
        rendered = float(_timed_serializer().loads(stamp, max_age=FORM_STAMP_MAX_AGE))
    except (BadSignature, TypeError, ValueError):
        return None
    elapsed = time.time() - rendered
    return elapsed if elapsed >= 0 else None


# The comment form on a shared article page (shop.site.page_cache): the stamp is filled in for
# each visitor when the page is served, and a browser that remembers its commenter's details
# gets a page of its own (the form is filled in with them).
FORM_STAMP_HOLE = "form-stamp"
register_hole(FORM_STAMP_HOLE, form_stamp, max_age=lambda: FORM_STAMP_MAX_AGE)
register_personal(
    lambda: COMMENTER_COOKIE in request.cookies and read_commenter_cookie().remembers_details
)
