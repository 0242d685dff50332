"""The hostile-request corpus, built from the app's URL map.

`build_corpus()` turns every rule of `app.url_map` into bad requests: odd values in its path and
query string, and for every form a set of hostile payloads, each sent without a CSRF token and,
where the form must refuse it on its own, with a valid one. Signed webhook deliveries that are
valid Stripe events about objects Stripe does not have are built by `signed_webhooks()`: they are
their own outcome (recorded as ignored, 2xx), not hostile 4xx.

`uncovered_endpoints()` names any route the corpus forgot, so a new route cannot slip past it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask
from werkzeug.exceptions import HTTPException

ANONYMOUS, ADMIN, CUSTOMER = "anonymous", "admin", "customer"

# -- payloads ---------------------------------------------------------------------------------

NUL = "nul"
HUGE = "huge"
BAD_UTF8 = "bad-utf8"
BAD_UTF8_MULTIPART = "bad-utf8-multipart"
BIDI = "bidi"
FILE = "file"
SQL = "sql"
TRAVERSAL = "traversal"
TRAVERSAL_ENCODED = "traversal-encoded"

TEXT_PAYLOADS: dict[str, str] = {
    NUL: "Sam\x00Reader",
    HUGE: "A" * (1024 * 1024 + 1),
    BIDI: "\u202egnp.exe\u202c",
    SQL: "' OR '1'='1'; DROP TABLE comments;--",
    TRAVERSAL: "../../etc/passwd",
    TRAVERSAL_ENCODED: "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
}
RAW_PAYLOADS = (BAD_UTF8, BAD_UTF8_MULTIPART, FILE)
ALL_PAYLOADS = (*TEXT_PAYLOADS, *RAW_PAYLOADS)
INVALID_UTF8 = b"caf\xe9 \xff\xfe\xc3\x28 \xed\xa0\x80"

# Integers in paths and query strings.
ODD_INTEGERS = ("0", "-1", str(2**31), str(2**63), "abc")
# Path segments for string arguments (slugs, tokens, ids taken as text).
ODD_SEGMENTS = (
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f",
    "%27%20OR%20%271%27%3D%271",
    "%E2%80%AEevil",
    "%FF%FE",
    "x" * 2000,
    *ODD_INTEGERS,
)


@dataclass(frozen=True)
class Hostile:
    """One request of the corpus, and who sends it."""

    label: str
    method: str
    path: str
    who: str = ANONYMOUS
    data: dict[str, Any] | bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Anonymous requests to the admin area or the account may be sent to sign in instead.
    may_redirect_to: str | None = None

    def send(self, client: Any) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.data is not None:
            kwargs["data"] = _fresh(self.data)
        if self.content_type:
            kwargs["content_type"] = self.content_type
        return client.open(self.path, method=self.method, **kwargs)


def _fresh(data: dict[str, Any] | bytes) -> dict[str, Any] | bytes:
    """File fields are read once per request: give each send its own."""
    if isinstance(data, bytes):
        return data
    return {
        key: (io.BytesIO(value[0]), value[1]) if isinstance(value, tuple) else value
        for key, value in data.items()
    }


@dataclass(frozen=True)
class Targets:
    """Real rows and tokens for the corpus to aim at."""

    article_slug: str
    tag_slug: str
    box_slug: str
    comment_id: int
    subscription_id: int
    held_box_id: int
    shipment_id: int
    plan_id: int
    csrf: dict[str, str]
    comment_stamp: str
    webhook_secret: str


# -- forms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormSpec:
    """A form as the page sends it, and what a form must refuse even with a valid token.

    `strict` fields accept only a narrow shape (ids, choices, emails, postcodes): any payload
    there is a form error. `free` fields take any text a person may type, so SQL-looking text
    or odd bytes there are only hostile without a token or with `defect` (another field made
    invalid). `bidi` fields refuse direction overrides; `required` fields are missing when a
    file is sent in their place.
    """

    endpoint: str
    who: tuple[str, ...]
    fields: dict[str, str]
    strict: tuple[str, ...] = ()
    free: tuple[str, ...] = ()
    bidi: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    defect: tuple[str, str] | None = None
    query: str = ""
    csrf_field: bool = True


def form_specs(t: Targets) -> list[FormSpec]:
    return [
        FormSpec(
            "comments.post",
            (ANONYMOUS, ADMIN, CUSTOMER),
            {
                "comment": "Great tips, thanks!",
                "author": "Sam Reader",
                "email": "sam@example.com",
                "url": "",
                "mb_trap": "",
                "parent_id": "",
                "rendered_at": t.comment_stamp,
            },
            strict=("email", "url", "parent_id"),
            free=("comment", "author"),
            bidi=("author", "email", "url"),
            required=("comment", "author", "email"),
            defect=("email", "not an email"),
        ),
        FormSpec(
            "accounts.login",
            (ANONYMOUS,),
            {"email": "jo@example.com"},
            strict=("email",),
            bidi=("email",),
            required=("email",),
        ),
        FormSpec(
            "accounts.address",
            (CUSTOMER,),
            {
                "name": "Jo Lifter",
                "line1": "12 Bondi Rd",
                "line2": "",
                "city": "Bondi",
                "state": "NSW",
                "postal_code": "2026",
            },
            strict=("state", "postal_code"),
            free=("line1", "line2", "city"),
            bidi=("name", "line1", "line2", "city"),
            required=("name", "line1", "city", "state", "postal_code"),
            defect=("postal_code", "20x6"),
        ),
        FormSpec(
            "accounts.billing",
            (CUSTOMER,),
            {"subscription_id": str(t.subscription_id)},
            strict=("subscription_id",),
        ),
        FormSpec(
            "accounts.skip_box",
            (CUSTOMER,),
            {},
            defect=None,
        ),
        FormSpec(
            "billing.checkout",
            (ANONYMOUS, CUSTOMER),
            {"plan_id": str(t.plan_id)},
            strict=("plan_id", "attempt"),
            required=("plan_id",),
        ),
        FormSpec(
            "admin.login",
            (ANONYMOUS,),
            {"email": "nobody@musclebox.test", "password": "wrong password"},
            strict=(),
            required=("email", "password"),
        ),
        FormSpec(
            "admin.moderate_one",
            (ADMIN,),
            {"action": "approve"},
            strict=("action",),
            required=("action",),
            query="?status=pending&page=1",
        ),
        FormSpec(
            "admin.moderate_bulk",
            (ADMIN,),
            {"action": "approve", "ids": str(t.comment_id)},
            strict=("action", "ids"),
            required=("action",),
        ),
        FormSpec(
            "admin.edit_comment",
            (ADMIN,),
            {"body": "Edited text"},
            free=("body",),
            required=("body",),
            defect=("body", ""),
        ),
        FormSpec(
            "admin.reply",
            (ADMIN,),
            {"body": "Thanks for reading"},
            free=("body",),
            required=("body",),
            defect=("body", ""),
        ),
        FormSpec(
            "admin.decide_held",
            (ADMIN,),
            {"decision": "send"},
            strict=("decision",),
            required=("decision",),
        ),
        FormSpec(
            "admin.mark_shipments_bulk",
            (ADMIN,),
            {"ids": str(t.shipment_id), "status": "shipped", "carrier": "", "tracking_number": ""},
            strict=("ids", "status", "carrier"),
            required=("status",),
        ),
        FormSpec(
            "admin.run_shipping_month",
            (ADMIN,),
            {"month": "2026-12"},
            strict=("month",),
            required=("month",),
        ),
        FormSpec(
            "admin.new_promotion",
            (ADMIN,),
            {
                "code": "WINTER20",
                "kind": "percent",
                "percent_off": "20",
                "amount_off": "",
                "duration": "once",
                "duration_in_months": "",
                "expires_at": "",
                "max_redemptions": "",
                "submission": "hostile-corpus-submission-0001",
            },
            strict=(
                "code",
                "kind",
                "percent_off",
                "duration",
                "duration_in_months",
                "expires_at",
                "max_redemptions",
                "submission",
            ),
            bidi=("code",),
            required=("code", "kind", "duration", "submission"),
        ),
        FormSpec("admin.deactivate_promotion_code", (ADMIN,), {}),
        FormSpec(
            "admin.comment_settings",
            (ADMIN,),
            {
                "max_links": "3",
                "moderation_words": "steroids",
                "blocklist_words": "casino",
                "blocklist_emails": "@junk.example.org",
                "blocklist_ips": "192.0.2.0/24",
                "auto_approve_returning": "yes",
                "close_after_days": "0",
                "comments_per_page": "20",
            },
            strict=(
                "max_links",
                "blocklist_emails",
                "blocklist_ips",
                "auto_approve_returning",
                "close_after_days",
                "comments_per_page",
            ),
            free=("moderation_words", "blocklist_words"),
            bidi=("moderation_words", "blocklist_words"),
            required=(
                "max_links",
                "auto_approve_returning",
                "close_after_days",
                "comments_per_page",
            ),
            defect=("comments_per_page", "4"),
        ),
        FormSpec(
            "admin.privacy",
            (ADMIN,),
            {"email": "jo@example.com"},
            strict=("email",),
            bidi=("email",),
            required=("email",),
        ),
        FormSpec(
            "admin.privacy_export",
            (ADMIN,),
            {"email": "jo@example.com"},
            strict=("email",),
            bidi=("email",),
            required=("email",),
        ),
        FormSpec(
            "admin.privacy_erase",
            (ADMIN,),
            {"email": "jo@example.com", "confirm": "yes"},
            strict=("email", "confirm"),
            bidi=("email",),
            required=("email",),
        ),
        *_article_editor_specs(),
    ]


def _article_editor_specs() -> list[FormSpec]:
    """The article editor (save and preview, new and existing) and the authors' forms. Ids in
    fields are "1", as in paths: the corpus's article and its author are the first rows."""
    article = {
        "title": "Hostile title",
        "slug": "",
        "author_id": "1",
        "excerpt": "",
        "tags": "",
        "hero_image_alt": "",
        "body": "Body text",
        "status": "draft",
        "publish_at": "",
    }
    author = {
        "name": "Hostile Author",
        "slug": "",
        "credentials": "",
        "bio": "",
        "website": "",
        "instagram": "",
        "facebook": "",
        "youtube": "",
        "tiktok": "",
        "x": "",
    }
    editors = [
        FormSpec(
            endpoint,
            (ADMIN,),
            article,
            strict=("slug", "author_id", "status", "publish_at"),
            free=("title", "excerpt", "body", "tags", "hero_image_alt"),
            bidi=("title", "tags"),
            required=("title", "body", "status"),
            defect=("status", "bogus"),
        )
        for endpoint in (
            "admin.new_article",
            "admin.edit_article",
            "admin.preview_new_article",
            "admin.preview_article",
        )
    ]
    authors = [
        FormSpec(
            endpoint,
            (ADMIN,),
            author,
            strict=("slug", "website", "instagram"),
            free=("name", "credentials", "bio"),
            bidi=("name", "credentials"),
            required=("name",),
            defect=("slug", "Not A Slug"),
        )
        for endpoint in ("admin.new_author", "admin.edit_author")
    ]
    deletions = [
        FormSpec(
            endpoint, (ADMIN,), {"confirm": "delete"}, strict=("confirm",), required=("confirm",)
        )
        for endpoint in ("admin.delete_article_page", "admin.delete_author_page")
    ]
    return [*editors, *authors, *deletions]


# Buttons that change state with a valid token whatever they are sent: only sent without one.
BUTTONS = (
    "accounts.logout",
    "admin.logout",
    "accounts.undo_skip_box",
    "accounts.sign_in",
    "admin.run_reconcile",
)


def _samples(t: Targets) -> dict[str, str]:
    """A real value for each path argument; any argument a new route brings is "1"."""
    return {
        "slug": t.article_slug,
        "comment_id": str(t.comment_id),
        "subscription_id": str(t.subscription_id),
        "raw_box_id": str(t.held_box_id),
        "token": "not-a-real-sign-in-token",
        "filename": "css/site.css",
    }


def _sample_path(app: Flask, endpoint: str, t: Targets, **raw: str) -> str:
    """The route's path with real values, or with `raw` (already URL-encoded) ones."""
    rule = next(iter(app.url_map.iter_rules(endpoint)))
    values = {**_samples(t), **raw}
    return re.sub(
        r"<(?:[^:>]+:)?([a-z_]+)>", lambda match: values.get(match.group(1), "1"), rule.rule
    )


def _sign_in_page(app: Flask, endpoint: str) -> str | None:
    if endpoint.startswith("admin."):
        return "/admin/login"
    if endpoint.startswith("accounts.") and endpoint not in (
        "accounts.login",
        "accounts.check_email",
        "accounts.confirm_sign_in",
        "accounts.sign_in",
    ):
        return "/account/login"
    return None


def _encode_multipart(fields: dict[str, str], raw_field: str, raw: bytes) -> tuple[bytes, str]:
    boundary = "hostileboundary7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        body = raw if name == raw_field else value.encode()
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + body
            + b"\r\n"
        )
    payload = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return payload, f"multipart/form-data; boundary={boundary}"


def _form_request(
    spec: FormSpec,
    path: str,
    who: str,
    payload: str,
    target: str,
    token: str | None,
    defect: bool,
    sign_in: str | None,
) -> Hostile:
    fields = dict(spec.fields)
    if token is not None and spec.csrf_field:
        fields["csrf_token"] = token
    if defect and spec.defect:
        fields[spec.defect[0]] = spec.defect[1]
    how = "with token" if token else "no token"
    label = f"{spec.endpoint} [{who}] {payload} in {target or '-'}, {how}{' + defect' if defect else ''}"
    redirect = sign_in if who == ANONYMOUS else None
    fields.setdefault(target, "")
    if payload in TEXT_PAYLOADS:
        fields[target] = TEXT_PAYLOADS[payload]
        return Hostile(label, "POST", path, who, fields, may_redirect_to=redirect)
    if payload == FILE:
        data: dict[str, Any] = {k: v for k, v in fields.items() if k != target}
        data[target] = (b"<script>alert(1)</script>\n" * 20, "../../etc/passwd")
        return Hostile(label, "POST", path, who, data, may_redirect_to=redirect)
    if payload == BAD_UTF8:
        pairs = [
            (k.encode(), INVALID_UTF8 if k == target else v.encode()) for k, v in fields.items()
        ]
        body = b"&".join(
            quote(k, safe="").encode() + b"=" + quote(v, safe="").encode() for k, v in pairs
        )
        return Hostile(
            label,
            "POST",
            path,
            who,
            body,
            "application/x-www-form-urlencoded",
            may_redirect_to=redirect,
        )
    body, content_type = _encode_multipart(fields, target, INVALID_UTF8)
    return Hostile(label, "POST", path, who, body, content_type, may_redirect_to=redirect)


def _must_refuse_with_token(spec: FormSpec, payload: str, target: str) -> bool:
    """Whether the form itself (or the site's guards) must refuse this even with a valid token."""
    if payload in (NUL, HUGE):
        return True
    if payload == FILE:  # the field is missing: only a required one must complain
        return target in spec.required
    return target in spec.strict or (payload == BIDI and target in spec.bidi)


def form_requests(app: Flask, t: Targets) -> Iterator[Hostile]:
    for spec in form_specs(t):
        path = _sample_path(app, spec.endpoint, t) + spec.query
        sign_in = _sign_in_page(app, spec.endpoint)
        targets = [
            *spec.strict,
            *spec.free,
            *(f for f in spec.bidi if f not in spec.strict + spec.free),
        ]
        if not targets:
            targets = [*spec.required] or ["extra"]
        for who in spec.who:
            token = t.csrf[who]
            for payload in ALL_PAYLOADS:
                # Without a token: one field is enough, every form must refuse it.
                yield _form_request(spec, path, who, payload, targets[0], None, False, sign_in)
                for target in targets:
                    if _must_refuse_with_token(spec, payload, target):
                        yield _form_request(spec, path, who, payload, target, token, False, sign_in)
                    elif spec.defect and target != spec.defect[0]:
                        yield _form_request(spec, path, who, payload, target, token, True, sign_in)
    for endpoint in BUTTONS:
        path = _sample_path(app, endpoint, t)
        for who in (ANONYMOUS, CUSTOMER, ADMIN):
            for payload in (NUL, SQL, FILE, BAD_UTF8):
                spec = FormSpec(endpoint, (who,), {})
                yield _form_request(
                    spec, path, who, payload, "extra", None, False, _sign_in_page(app, endpoint)
                )


# -- paths and query strings ------------------------------------------------------------------

# Path arguments that are ids, typed (<int:...>) or read from text; any other is a string.
INT_ARGUMENTS = {
    "comment_id",
    "message_id",
    "subscription_id",
    "raw_box_id",
    "raw_id",
    "article_id",
    "author_id",
}
# Query-string integers and the routes that read them.
QUERY_INTEGERS: dict[str, tuple[str, ...]] = {
    "blog.index": ("page",),
    "blog.tag": ("page",),
    "blog.article": ("page",),
    "admin.comments": ("page",),
    "admin.shipments": ("page", "month", "box"),
    "admin.shipments_csv": ("month", "box"),
    "admin.decide_held": ("month",),
    "admin.events": ("page",),
    "admin.subscriptions": ("page", "term", "box", "status", "started", "ended", "ended_days"),
    "admin.customers": ("page",),
    "admin.articles": ("page",),
    "admin.authors": ("page",),
}


def path_requests(app: Flask, t: Targets) -> Iterator[Hostile]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint = rule.endpoint
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        sign_in = _sign_in_page(app, endpoint)
        whos = (ADMIN, ANONYMOUS) if endpoint.startswith("admin.") else (ANONYMOUS, CUSTOMER)
        for argument in sorted(rule.arguments):
            values = ODD_INTEGERS if argument in INT_ARGUMENTS else ODD_SEGMENTS
            for value in values:
                path = _sample_path(app, endpoint, t, **{argument: value})
                for method in methods:
                    for who in whos:
                        yield Hostile(
                            f"{method} {rule.rule} {argument}={value[:20]} [{who}]",
                            method,
                            path,
                            who,
                            data={"csrf_token": t.csrf[who]} if method == "POST" else None,
                            may_redirect_to=sign_in if who == ANONYMOUS else None,
                        )
        for name in QUERY_INTEGERS.get(endpoint, ()):
            base = _sample_path(app, endpoint, t)
            for value in ODD_INTEGERS:
                for method in methods:
                    for who in whos:
                        yield Hostile(
                            f"{method} {rule.rule}?{name}={value} [{who}]",
                            method,
                            f"{base}?{urlencode({name: value})}",
                            who,
                            data=_valid_post_for(endpoint, t, who) if method == "POST" else None,
                            may_redirect_to=sign_in if who == ANONYMOUS else None,
                        )
        # A NUL in the query string reaches every route (the site refuses it before routing on).
        for method in methods:
            for who in whos:
                yield Hostile(
                    f"{method} {rule.rule}?q=NUL [{who}]",
                    method,
                    _sample_path(app, endpoint, t) + "?q=%00&next=%2e%2e%2f",
                    who,
                    data={"csrf_token": t.csrf[who]} if method == "POST" else None,
                )
        # Methods a route does not take.
        for method in ("PUT", "DELETE", "PATCH"):
            yield Hostile(f"{method} {rule.rule}", method, _sample_path(app, endpoint, t))
    for path in (
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fshop%2fconfig.py",
        "/blog/../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/boxes/%00",
        "/blog/%E2%80%AE",
        "/checkout/success?session_id=cs_test_%27%20OR%201%3D1--",
        "/checkout/success?session_id=../../etc/passwd",
        "/checkout/success?session_id=" + "a" * 5000,
        "/account/login/" + "a" * 129,
        "/admin/comments?status=%27%20OR%201%3D1",
        "/admin/shipments?status=..%2f..%2f",
    ):
        for who in (ANONYMOUS, ADMIN):
            yield Hostile(
                f"GET {path[:40]} [{who}]",
                "GET",
                path,
                who,
                may_redirect_to="/admin/login" if path.startswith("/admin") else None,
            )


def _valid_post_for(endpoint: str, t: Targets, who: str) -> dict[str, Any]:
    fields = {"admin.decide_held": {"decision": "send"}}.get(endpoint, {})
    return {**fields, "csrf_token": t.csrf[who]}


# -- the webhook ------------------------------------------------------------------------------

WEBHOOK = "/webhooks/stripe"


def sign(payload: bytes, secret: str, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def stripe_event(type_: str, obj: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "api_version": "2026-10-28.endive",
        "created": 1_800_000_000,
        "livemode": False,
        "data": {"object": obj},
    }


def webhook_requests(t: Targets) -> Iterator[Hostile]:
    good = json.dumps(stripe_event("customer.updated", {"id": "cus_hostile"}, "evt_h")).encode()
    secret = t.webhook_secret
    now = int(time.time())
    bodies = {
        "event": good,
        "truncated": good[: len(good) // 2],
        "not-json": b"<xml>hello</xml>",
        "not-utf8": b'{"id": "evt_\xff\xfe", "type": "x"}',
        "nested": b"[" * 100_000 + b"]" * 100_000,
        "nested-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "empty": b"",
        "array": b"[1, 2, 3]",
        "shapeless": b'{"id": "evt_1", "type": "x"}',
        "wrong-types": json.dumps({"id": 1, "type": [], "data": {"object": 3}}).encode(),
    }
    signatures: dict[str, Any] = {
        "missing": None,
        "garbage": "garbage",
        "empty": "",
        "wrong-secret": lambda body: sign(body, "whsec_not_ours"),
        "stale": lambda body: sign(body, secret, now - 301),
        "far-future": lambda body: sign(body, secret, now + 3600),
        "not-ascii": lambda body: sign(body, secret).replace("v1=", "v1=\u00e9\u00e8"),
        "other-body": lambda body: sign(b"{}", secret),
        "v0-only": lambda body: sign(body, secret).replace("v1=", "v0="),
    }
    for body_name, body in bodies.items():
        for sig_name, make in signatures.items():
            header = make(body) if callable(make) else make
            headers = {} if header is None else {"Stripe-Signature": header}
            yield Hostile(
                f"webhook {body_name} signature {sig_name}",
                "POST",
                WEBHOOK,
                data=body,
                content_type="application/json",
                headers=headers,
            )
        # Correctly signed but not an event the shop can read.
        if body_name != "event":
            yield Hostile(
                f"webhook {body_name} signed",
                "POST",
                WEBHOOK,
                data=body,
                content_type="application/json",
                headers={"Stripe-Signature": sign(body, secret)},
            )
    huge = b'{"id": "evt_big", "pad": "' + b"A" * (5 * 1024 * 1024) + b'"}'
    for sig_name, header in (("signed", sign(huge, secret)), ("unsigned", None)):
        yield Hostile(
            f"webhook 5 MB {sig_name}",
            "POST",
            WEBHOOK,
            data=huge,
            content_type="application/json",
            headers={} if header is None else {"Stripe-Signature": header},
        )
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        yield Hostile(
            f"webhook as {ctype.split(';')[0]}",
            "POST",
            WEBHOOK,
            data=b"id=evt_1&type=x",
            content_type=ctype,
            headers={"Stripe-Signature": sign(b"id=evt_1&type=x", secret)},
        )
    yield Hostile("webhook GET", "GET", WEBHOOK)


ODD_EVENT_IDS = {
    "empty": "",
    "10 KB": "evt_" + "x" * 10_240,
    "unicode": "evt_\u2603\u202e\U0001f4aa",
    "NUL": "evt_\x00null",
    "markup": "evt_<script>alert(1)</script>",
    "sql": "evt_' OR 1=1;--",
}
UNKNOWN_OBJECTS = {
    "customer.updated": {"id": "cus_nobody", "object": "customer"},
    "customer.subscription.updated": {"id": "sub_nobody", "object": "subscription"},
    "invoice.paid": {"id": "in_nobody", "object": "invoice"},
    "checkout.session.completed": {"id": "cs_test_nobody", "object": "checkout.session"},
    "balance.available": {"id": "bal_nobody", "object": "balance"},
    "customer.subscription.deleted": {"object": "subscription"},
}


def signed_webhooks(secret: str) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """(label, event id, body, headers) of signed events about objects Stripe does not have,
    and of events with odd ids; the last one is delivered twice (a replay)."""
    for name, event_id in ODD_EVENT_IDS.items():
        body = json.dumps(stripe_event("customer.updated", {"id": "cus_nobody"}, event_id)).encode()
        yield f"signed event, {name} id", event_id, body, {"Stripe-Signature": sign(body, secret)}
    for number, (type_, obj) in enumerate(UNKNOWN_OBJECTS.items()):
        event_id = f"evt_unknown_{number}"
        body = json.dumps(stripe_event(type_, obj, event_id)).encode()
        yield (
            f"signed {type_} of an unknown object",
            event_id,
            body,
            {"Stripe-Signature": sign(body, secret)},
        )
    body = json.dumps(stripe_event("customer.updated", {"id": "cus_nobody"}, "evt_replayed"))
    headers = {"Stripe-Signature": sign(body.encode(), secret)}
    for delivery in ("first", "replayed"):
        yield f"signed event, {delivery} delivery", "evt_replayed", body.encode(), headers


# -- the whole corpus -------------------------------------------------------------------------


def build_corpus(app: Flask, t: Targets) -> list[Hostile]:
    return [*form_requests(app, t), *path_requests(app, t), *webhook_requests(t)]


def covered_endpoints(app: Flask, corpus: list[Hostile]) -> set[str]:
    adapter = app.url_map.bind("shop.test")
    endpoints = set()
    for request in corpus:
        try:
            endpoint, _ = adapter.match(request.path.split("?")[0], method=request.method)
        except HTTPException:  # a path or method no route takes covers none
            endpoint = None
        if endpoint:
            endpoints.add(endpoint)
    return endpoints


def uncovered_endpoints(app: Flask, corpus: list[Hostile]) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()} - covered_endpoints(app, corpus)
