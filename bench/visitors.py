"""Distinct visitors for the production benchmark: what each request of a scenario carries.

wrk sends the same request over and over unless a Lua script says otherwise; bench/requests.lua
cycles through pre-made raw HTTP requests written here, one file per run, each wrk thread taking
its own share so no two threads send the same one. Each maker returns those raw requests:

- `customer_cookies`: signed-in customers, one each (distinct customers of the dataset): the
  Flask session signed with the shop's own session interface and the bench SECRET_KEY, holding
  the keys shop.accounts.sessions reads (customer_id, customer_epoch), as sign-in leaves them;
- `comment_visitors`: readers who each fetched the article page first, as a browser does (their
  own session cookie, CSRF token and signed form time stamp, read from the page the shop sent);
  every POST then has its own name, email and text, so the shop stores each one, and comes
  from its visitor's own address (X-Forwarded-For: the bench serves the shop behind one proxy,
  TRUSTED_PROXY_COUNT=1, as production does);
- `webhook_events`: Stripe events with distinct ids, signed with Stripe's scheme
  (`t=<unix time>,v1=hex(hmac_sha256(secret, f"{t}.{body}"))`) just before the run, so their
  time stamps are well within the shop's tolerance;
- `admin_cookie`: an admin signed in through the shop's own sign-in form.

Nothing here judges a response: production.py counts what the shop answered.
"""

# Fixed requests to the bench's own servers on loopback.
# ruff: noqa: S310

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

USER_AGENT = "MuscleBox-bench/1 (wrk)"
SEPARATOR = "\n--bench-request-separator--\n"


def raw_request(method: str, path: str, port: int, headers: dict[str, str], body: str = "") -> str:
    """One HTTP/1.1 request as wrk sends it (keep-alive, a Host the shop trusts)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method != "GET":
        lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def write_requests(path: Path, requests: list[str]) -> Path:
    """The file bench/requests.lua reads: the requests, separated by SEPARATOR."""
    path.write_text(SEPARATOR.join(requests), encoding="utf-8")
    return path


def _cookie(headers: list[str], name: str) -> str | None:
    for header in headers:
        first = header.split(";", 1)[0]
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def _input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(value.group(1)) if value else None


# -- signed-in customers ----------------------------------------------------------------------


def customer_cookies(secret_key: str, customers: list[tuple[int, int]]) -> list[str]:
    """A session cookie value for each (customer id, session epoch), as sign-in leaves it."""
    from flask import Flask

    # The shop's session interface is Flask's own (shop.create_app does not replace it), so a
    # bare app with the same SECRET_KEY signs exactly what the shop reads.
    app = Flask("bench")
    app.secret_key = secret_key
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    return [
        serializer.dumps({"customer_id": cid, "customer_epoch": epoch, "_permanent": True})
        for cid, epoch in customers
    ]


def account_requests(port: int, cookies: list[str]) -> list[str]:
    return [
        raw_request("GET", "/account/", port, {"Cookie": f"session={cookie}"}) for cookie in cookies
    ]


# -- comment POST -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentVisitor:
    """What one reader's browser holds after loading the article: enough to post a comment."""

    session: str
    csrf_token: str
    rendered_at: str


def fetch_comment_visitors(port: int, slug: str, count: int) -> list[CommentVisitor]:
    """`count` readers, each loading the article page once without cookies (a new visitor)."""

    def one(_: int) -> CommentVisitor | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/blog/{slug}", headers={"User-Agent": USER_AGENT}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            page = response.read().decode()
            session = _cookie(response.headers.get_all("Set-Cookie") or [], "session")
        token, stamp = _input_value(page, "csrf_token"), _input_value(page, "rendered_at")
        if not (session and token and stamp):
            return None
        return CommentVisitor(session, token, stamp)

    with ThreadPoolExecutor(max_workers=8) as pool:
        visitors = [v for v in pool.map(one, range(count)) if v is not None]
    if not visitors:
        raise SystemExit(f"/blog/{slug} gave no visitor a session, CSRF token and form stamp")
    return visitors


def comment_requests(
    port: int, slug: str, visitors: list[CommentVisitor], count: int, run: str
) -> list[str]:
    """`count` comment POSTs cycling through the visitors, each with its own author and text
    (the shop refuses the same text from the same email twice)."""
    requests = []
    for n in range(count):
        number = n % len(visitors)
        visitor = visitors[number]
        body = urlencode(
            {
                "csrf_token": visitor.csrf_token,
                "rendered_at": visitor.rendered_at,
                "comment": f"Run {run}, note {n}: I tried the hinge drill this week and my lower "
                "back felt fine the day after.",
                "author": f"Bench reader {run}-{n}",
                "email": f"reader-{run}-{n}@bench.example",
                "url": "",
                "parent_id": "",
                "mb_trap": "",
            }
        )
        requests.append(
            raw_request(
                "POST",
                f"/blog/{slug}/comments",
                port,
                {
                    "Cookie": f"session={visitor.session}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    # Each visitor's own address, as the proxy in front reports it.
                    "X-Forwarded-For": f"10.1.{number // 250}.{number % 250 + 1}",
                },
                body,
            )
        )
    return requests


# -- webhook POST -----------------------------------------------------------------------------


def webhook_requests(port: int, secret: str, subscriptions: int, count: int, run: str) -> list[str]:
    """`count` distinct `customer.subscription.updated` events about the dataset's
    subscriptions (a type the shop records and queues a job for), signed now."""
    now = int(time.time())
    requests = []
    for n in range(count):
        sub = f"sub_bench{n % subscriptions}"
        event = {
            "id": f"evt_benchpost{run}x{n}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": now,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": "customer.subscription.updated",
            "data": {
                "object": {
                    "id": sub,
                    "object": "subscription",
                    "customer": f"cus_bench{n % subscriptions}",
                    "status": "active",
                    "cancel_at_period_end": False,
                },
                "previous_attributes": {"cancel_at_period_end": True},
            },
        }
        body = json.dumps(event, separators=(",", ":"))
        signature = hmac.new(secret.encode(), f"{now}.{body}".encode(), hashlib.sha256)
        requests.append(
            raw_request(
                "POST",
                "/webhooks/stripe",
                port,
                {
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": f"t={now},v1={signature.hexdigest()}",
                },
                body,
            )
        )
    return requests


# -- the admin --------------------------------------------------------------------------------


def admin_cookie(port: int, email: str, password: str) -> str:
    """Sign in through /admin/login as a browser would; the signed-in session cookie."""
    base = f"http://127.0.0.1:{port}/admin/login"
    request = urllib.request.Request(base, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
        session = _cookie(response.headers.get_all("Set-Cookie") or [], "session")
    token = _input_value(page, "csrf_token")
    if not (session and token):
        raise SystemExit("the admin sign-in page gave no session or CSRF token")
    form = urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    request = urllib.request.Request(
        base,
        data=form,
        headers={
            "User-Agent": USER_AGENT,
            "Cookie": f"session={session}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
        raise SystemExit("the admin sign-in did not redirect: wrong credentials?")
    except urllib.error.HTTPError as answer:
        if answer.code != 303:
            raise SystemExit(f"the admin sign-in answered {answer.code}") from answer
        signed_in = _cookie(answer.headers.get_all("Set-Cookie") or [], "session")
    if not signed_in:
        raise SystemExit("the admin sign-in set no session cookie")
    return signed_in
