"""The shared page cache: public pages rendered once and served by every worker and server.

The rule:

- **Who shares.** The home page, the box range and box pages, the blog index, tag pages, article
  pages, the feed and the sitemap (`@shared_page`) are shared by every visitor who has nothing of
  their own on them: a GET or HEAD whose session holds no more than a CSRF token and whose browser
  remembers no comment details. Anyone else (a signed-in customer or admin, a message waiting to
  be shown, their own comment still held for moderation, a remembered name) gets the page made for
  them, `private, no-store`, as if there were no cache. So does a query string the page does not
  take (it may change the page's links; `?replyto=` too, the form set to answer one comment: kept,
  each comment would multiply each comment page), and any answer but 200.
- **Holes.** A shared page's per-visitor parts are *holes*: the page is rendered with a secret
  placeholder where the visitor's CSRF token, the comment form's time stamp or the checkout
  attempt goes, and every response fills in this visitor's own values. Forms keep working on a
  cached page, without JavaScript.
- **Exact invalidation.** Each page depends on *topics* ("blog", "catalogue", "comments"). A
  transaction that writes a row a topic covers (found by SQLAlchemy session events, so no service
  can forget: see `TOPIC_RULES`) gives that topic a new version *after* it commits, and an entry
  is served only while every version it was rendered with is still current. Versions are random
  tokens, not counters, so a topic lost from the store (evicted, flushed) can never bring an old
  entry back. The release (code, templates, static files, settings) is part of every key, so a
  deploy starts afresh.
- **Time.** Lists of articles change by themselves when a scheduled article's time comes, and
  every footer at New Year: an entry lasts until the first such moment, and at most a day (that
  bound is memory hygiene, not freshness).
- **HTTP.** A shared page carries an ETag and a Last-Modified and answers If-None-Match and
  If-Modified-Since with 304. While its previous copy is kept, a URL's Last-Modified only moves
  forward, by at least a second per change of its bytes, so it stays a sound validator when two
  changes fall in one second (after a copy expires it is the rendering server's clock). A page
  with holes is `private, no-cache` and is revalidated by its ETag alone, which includes the
  visitor's CSRF session and the current half-lifetime window of its tokens: a 304 never leaves a
  visitor holding a form whose token has expired or belongs to another session. Compression is
  left to the compression hook, which takes a kept page's ready brotli or gzip copy.
- **Failure.** If the store cannot be reached, pages are rendered for each visitor (slower, never
  wrong), the failure is logged once, and the store is left alone for STORE_REST_SECONDS. A
  version that could not be bumped (after a second try) is logged as an error, because entries
  made before it may then outlive their content (`flask --app shop clear-page-cache` starts every
  page afresh).

`PAGE_CACHE_URL` picks the store: `redis://host:port/db` (shared by every worker, instance and
job worker; required in production), `memory://` (one process: the tests), or nothing (off, the
development default: a `flask` command in another terminal could not reach a server's memory).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, Protocol, TypeVar

from flask import Flask, Response, current_app, g, make_response, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import is_resource_modified
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request as WerkzeugRequest

from shop.db import utcnow
from shop.extensions import limiter
from shop.site.compression import chosen_encoding, compressed_copies, offer_copies

logger = logging.getLogger(__name__)

BLOG = "blog"  # articles, authors, tags, old slugs: every page that shows an article or a list
CATALOGUE = "catalogue"  # boxes and plans: every page that shows the boxes
COMMENTS = "comments"  # approved comments and the comment settings: article pages

# An entry is kept at most this long even if nothing changes (memory, not freshness).
LONGEST_ENTRY_SECONDS = 24 * 60 * 60
# A session holding only these keys has nothing of its own on a shared page: Flask-WTF's CSRF
# secret and Flask-Login's anonymous housekeeping (no identity in either).
SHARED_SESSION_KEYS = frozenset({"csrf_token", "_fresh", "_id"})
# Query values a shared page accepts: a positive whole number written plainly (no "01", no "+1").
_PLAIN_NUMBER_MAX_DIGITS = 6

# Settings that show on shared pages (besides COMMENT_*, the payments mode and the secret key
# behind the placeholders): instances whose values differ never share a page.
PAGE_SETTINGS = frozenset(
    {
        "SITE_NAME",
        "SITE_URL",
        "SHOP_TIMEZONE",
        "SHIPPING_CUTOFF_DAY",
        "SHIPPING_COUNTRIES",
        "WTF_CSRF_TIME_LIMIT",
        "PREFERRED_URL_SCHEME",
    }
)

View = TypeVar("View", bound=Callable[..., Any])


# -- the store ---------------------------------------------------------------------------------


class StoreUnavailable(Exception):
    """The page store could not be reached."""


class StoreResting(StoreUnavailable):
    """The page store failed a moment ago and is not asked again yet."""


class PageStore(Protocol):
    def get_many(self, keys: list[str]) -> list[bytes | None]: ...

    def put(self, key: str, value: bytes, seconds: int) -> None: ...

    def put_all(self, values: dict[str, bytes]) -> None: ...

    def put_missing(self, values: dict[str, bytes]) -> list[bytes]: ...

    def clear(self) -> None: ...


class MemoryStore:
    """One process's store: for development and tests, where one process serves every page."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float | None, bytes]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        now = time.monotonic()
        with self._lock:
            found = [self._values.get(key) for key in keys]
        return [
            item[1] if item is not None and (item[0] is None or item[0] > now) else None
            for item in found
        ]

    def put(self, key: str, value: bytes, seconds: int) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + seconds, value)

    def put_all(self, values: dict[str, bytes]) -> None:
        with self._lock:
            self._values.update({key: (None, value) for key, value in values.items()})

    def put_missing(self, values: dict[str, bytes]) -> list[bytes]:
        with self._lock:
            for key, value in values.items():
                self._values.setdefault(key, (None, value))
            return [self._values[key][1] for key in values]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class RedisStore:
    """Redis, shared by every worker and every instance of the shop."""

    # A page waits at most this long for the cache before it is rendered without it.
    READ_TIMEOUT_SECONDS = 0.5
    # Marking a topic changed is what keeps every kept page true, so a busy Redis gets longer and
    # a second chance: tries of up to 1 s to connect and 1.5 s to answer, started while less than
    # CHANGE_DEADLINE_SECONDS have passed (at most about 6 s for a Redis that never answers).
    CHANGE_TIMEOUT_SECONDS = 1.5
    CHANGE_DEADLINE_SECONDS = 3.0

    def __init__(self, url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=self.READ_TIMEOUT_SECONDS,
            socket_connect_timeout=self.READ_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self._changes = redis.Redis.from_url(
            url,
            socket_timeout=self.CHANGE_TIMEOUT_SECONDS,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),  # the tries are counted here, against one deadline
            health_check_interval=30,
        )
        self._prefix = "mb:pages:"

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except self._errors as exc:
            raise StoreUnavailable(str(exc)) from exc

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        return self._call(lambda: self._redis.mget([self._prefix + key for key in keys]))

    def put(self, key: str, value: bytes, seconds: int) -> None:
        self._call(lambda: self._redis.set(self._prefix + key, value, ex=seconds))

    def put_all(self, values: dict[str, bytes]) -> None:
        prefixed = {self._prefix + key: value for key, value in values.items()}
        deadline = time.monotonic() + self.CHANGE_DEADLINE_SECONDS
        while True:
            try:
                self._call(lambda: self._changes.mset(prefixed))
                return
            except StoreUnavailable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def put_missing(self, values: dict[str, bytes]) -> list[bytes]:
        def both() -> list[bytes]:
            pipe = self._redis.pipeline()
            for key, value in values.items():
                pipe.set(self._prefix + key, value, nx=True)
            pipe.mget([self._prefix + key for key in values])
            return pipe.execute()[-1]

        return self._call(both)

    def clear(self) -> None:
        def delete_all() -> None:
            for key in self._changes.scan_iter(match=self._prefix + "*", count=1000):
                self._changes.delete(key)

        self._call(delete_all)


def open_store(url: str) -> PageStore:
    if url.startswith(("redis://", "rediss://")):
        return RedisStore(url)
    return MemoryStore()


# -- holes: a visitor's own values on a shared page ---------------------------------------------


@dataclass(frozen=True)
class Hole:
    """A per-visitor value on shared pages: `fill()` makes it; it stays valid `max_age()` s."""

    name: str
    fill: Callable[[], str]
    max_age: Callable[[], int | None]


_HOLES: dict[str, Hole] = {}


def register_hole(
    name: str, fill: Callable[[], str], max_age: Callable[[], int | None] = lambda: None
) -> None:
    """Declare a per-visitor value (at import time). Views ask for it with `hole(name)`."""
    _HOLES[name] = Hole(name, fill, max_age)


def hole(name: str) -> str:
    """This visitor's value, or its placeholder while a shared page is being rendered."""
    if g.get("_rendering_shared_page"):
        return _placeholder(name)
    return _HOLES[name].fill()


def _placeholder(name: str) -> str:
    """A marker no visitor can guess (so none can type it into a comment), alike in every
    process and instance that shares the secret key."""
    return _marker(current_app.config["SECRET_KEY"], name)


@lru_cache(maxsize=64)
def _marker(secret: str, name: str) -> str:
    digest = hmac.new(secret.encode(), f"page-hole:{name}".encode(), "sha256")
    return f"pagehole{name}{digest.hexdigest()[:24]}"


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _fill_csrf() -> str:
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


register_hole(
    "csrf", _fill_csrf, max_age=lambda: current_app.config.get("WTF_CSRF_TIME_LIMIT") or None
)


# -- who shares ----------------------------------------------------------------------------------

_PERSONAL: list[Callable[[], bool]] = []


def register_personal(check: Callable[[], bool]) -> None:
    """Declare something a browser may carry that is its own on shared pages (at import time);
    `check()` answers for this request, without the database."""
    _PERSONAL.append(check)


def visitor_shares_pages() -> bool:
    """True when this visitor has nothing of their own on a shared page."""
    if request.method not in ("GET", "HEAD"):
        return False
    if not SHARED_SESSION_KEYS.issuperset(session.keys()):
        return False
    return not any(check() for check in _PERSONAL)


def _plain_number(value: str) -> bool:
    return (
        0 < len(value) <= _PLAIN_NUMBER_MAX_DIGITS
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
    )


def _canonical_query(
    accepted: frozenset[str], args: MultiDict[str, str] | None = None
) -> str | None:
    """The query string (this request's, or `args`) in one spelling, or None when it has a name
    the page doesn't take, a name twice, or a value that isn't a plain number (those pages are
    rendered uncached)."""
    items = list((request.args if args is None else args).items(multi=True))
    names = [name for name, _ in items]
    if len(set(names)) != len(names) or not accepted.issuperset(names):
        return None
    if not all(_plain_number(value) for _, value in items):
        return None
    return "&".join(f"{name}={value}" for name, value in sorted(items))


# -- topics: what a change invalidates ------------------------------------------------------------


def bump_topics(app: Flask, topics: Iterable[str]) -> None:
    """Give each topic a new version now: every entry rendered with the old one is gone."""
    cache: PageCache | None = app.extensions.get("page_cache")
    topics = sorted(set(topics))
    if cache is None or not topics:
        return
    try:
        cache.store.put_all({f"topic:{topic}": secrets.token_hex(8).encode() for topic in topics})
    except StoreUnavailable:
        logger.error(
            "page cache: could not mark %s changed; pages made before may be stale until "
            "`flask --app shop clear-page-cache` or their expiry",
            ", ".join(topics),
        )


def clear_pages(app: Flask) -> bool:
    """Forget every entry and topic version; False when the store can't be reached."""
    cache: PageCache | None = app.extensions.get("page_cache")
    if cache is None:
        return True
    try:
        cache.store.clear()
    except StoreUnavailable:
        return False
    return True


# -- the cache -------------------------------------------------------------------------------------


@dataclass
class Entry:
    """A rendered page and what it was made with."""

    versions: list[str]
    etag: str
    last_modified: int  # unix seconds
    holes: list[str]
    content_type: str
    fresh_until: float  # unix seconds, on the shop's clock (shop.db.utcnow)
    body: bytes
    encoded: dict[str, bytes] = field(default_factory=dict)  # a page without holes, compressed

    def dump(self) -> bytes:
        head = {
            "versions": self.versions,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "holes": self.holes,
            "content_type": self.content_type,
            "fresh_until": self.fresh_until,
            "sizes": [len(self.body), *(len(data) for data in self.encoded.values())],
            "encodings": list(self.encoded),
        }
        head_line = json.dumps(head, separators=(",", ":")).encode()
        return head_line + b"\n" + self.body + b"".join(self.encoded.values())

    @classmethod
    def load(cls, raw: bytes | None) -> Entry | None:
        if not raw:
            return None
        head, _, data = raw.partition(b"\n")
        try:
            fields = json.loads(head)
            sizes, encodings = fields.pop("sizes"), fields.pop("encodings")
            if sum(sizes) != len(data) or len(sizes) != len(encodings) + 1:
                return None
            chunks, start = [], 0
            for size in sizes:
                chunks.append(data[start : start + size])
                start += size
            return cls(
                body=chunks[0], encoded=dict(zip(encodings, chunks[1:], strict=True)), **fields
            )
        except (ValueError, TypeError, KeyError):
            return None


# After the store fails to answer a read, pages are rendered without it for this long (a hung
# Redis must not add its timeout to every page), then it is asked again.
STORE_REST_SECONDS = 5.0


class PageCache:
    def __init__(self, app: Flask, store: PageStore) -> None:
        self.app = app
        self.store = store
        self._release: str | None = None
        self._resting_until = 0.0

    @property
    def release(self) -> str:
        """What this process serves: its code, templates, static files and settings. Instances
        running the same release with the same settings share entries; any change starts anew."""
        if self._release is None:
            digest = hashlib.sha256()
            folders = {
                "code": self.app.root_path,
                "templates": self.app.template_folder,
                "static": self.app.static_folder,
            }
            for label, name in folders.items():
                folder = Path(self.app.root_path, name or "")
                if not name or not folder.is_dir():
                    continue
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and "__pycache__" not in path.parts:
                        digest.update(f"{label}/{path.relative_to(folder)}".encode())
                        digest.update(path.read_bytes())
            config = self.app.config
            settings = {
                key: value
                for key, value in config.items()
                if key in PAGE_SETTINGS or key.startswith("COMMENT_")
            }
            settings["live_payments"] = config["STRIPE_SECRET_KEY"].startswith("sk_live_")
            with self.app.app_context():  # the secret key, through what it makes: placeholders
                settings["holes"] = _placeholder("csrf")
            digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
            self._release = digest.hexdigest()[:16]
        return self._release

    def serve(
        self,
        page: str,
        topics: tuple[str, ...],
        render: Callable[[], Any],
        until: Callable[[], datetime | None] | None,
    ) -> Response:
        try:
            entry, current, versions = self.lookup(page, topics)
        except StoreUnavailable as exc:
            if not isinstance(exc, StoreResting):  # one line per failure, not one per page
                logger.warning("page cache unavailable, rendering uncached for a while: %s", exc)
            return _private(render())
        if not current:
            key, topic_keys = self._keys(page, topics)
            made = self._render(key, topic_keys, versions, entry, render, until)
            if isinstance(made, Response):
                return made
            entry = made
        assert entry is not None
        return _respond(entry)

    def _keys(self, page: str, topics: tuple[str, ...]) -> tuple[str, list[str]]:
        return f"page:{self.release}:{page}", [f"topic:{topic}" for topic in topics]

    def lookup(
        self, page: str, topics: tuple[str, ...]
    ) -> tuple[Entry | None, bool, list[str | None]]:
        """The kept entry for a page (if any), whether it is current, and the topics' versions
        now. One round trip to the store; raises StoreUnavailable."""
        key, topic_keys = self._keys(page, topics)
        if time.monotonic() < self._resting_until:
            raise StoreResting("resting after a failure")
        try:
            raw, *found = self.store.get_many([key, *topic_keys])
        except StoreUnavailable:
            self._resting_until = time.monotonic() + STORE_REST_SECONDS
            raise
        versions = [value.decode() if value is not None else None for value in found]
        entry = Entry.load(raw)
        current = (
            entry is not None
            and entry.versions == versions
            and entry.fresh_until > utcnow().timestamp()
        )
        return entry, current, versions

    def _render(
        self,
        key: str,
        topic_keys: list[str],
        versions: list[str | None],
        previous: Entry | None,
        render: Callable[[], Any],
        until: Callable[[], datetime | None] | None,
    ) -> Entry | Response:
        try:
            if None in versions:  # a topic never changed yet (or lost): give it a version first
                fresh = {
                    k: secrets.token_hex(8).encode()
                    for k, v in zip(topic_keys, versions, strict=True)
                    if v is None
                }
                made = dict(zip(fresh, self.store.put_missing(fresh), strict=True))
                versions = [
                    v if v is not None else made[k].decode()
                    for k, v in zip(topic_keys, versions, strict=True)
                ]
        except StoreUnavailable as exc:
            logger.warning("page cache unavailable, rendering uncached: %s", exc)
            return _private(render())
        # Before rendering: an article that goes live while the page is made is then either on
        # it or due, and the copy is kept no longer than that.
        fresh_until = _fresh_until(until)
        field = _csrf_field()
        token_before = g.pop(field, None)
        g._rendering_shared_page = True
        setattr(g, field, _placeholder("csrf"))  # Flask-WTF takes the token from g when there
        try:
            response = make_response(render())
        finally:
            g._rendering_shared_page = False
            g.pop(field, None)
            if token_before is not None:
                setattr(g, field, token_before)
        if response.status_code != 200 or response.is_streamed:
            return _private(_filled(response))
        body = response.get_data()
        holes = [name for name in _HOLES if _placeholder(name).encode() in body]
        etag = hashlib.sha256(body).hexdigest()[:32]
        now = int(time.time())
        if previous is not None and previous.etag == etag:
            last_modified = previous.last_modified
        else:
            last_modified = max(now, previous.last_modified + 1 if previous else now)
        content_type = response.content_type or "text/html; charset=utf-8"
        encoded = {} if holes else compressed_copies(body, response.mimetype)
        entry = Entry(
            versions=[v for v in versions if v is not None],
            etag=etag,
            last_modified=last_modified,
            holes=holes,
            content_type=content_type,
            fresh_until=0.0,
            body=body,
            encoded=encoded,
        )
        entry.fresh_until = fresh_until.timestamp()
        seconds = int(min(LONGEST_ENTRY_SECONDS, (fresh_until - utcnow()).total_seconds()))
        if seconds > 0:
            try:
                self.store.put(key, entry.dump(), seconds)
            except StoreUnavailable as exc:
                logger.warning("page cache unavailable, page not kept: %s", exc)
        return entry


def _fresh_until(until: Callable[[], datetime | None] | None) -> datetime:
    """The first moment the page may change by itself: the footer's new year, the view's
    `until`, or a day from now (memory hygiene)."""
    now = utcnow()
    ends = [
        datetime(now.year + 1, 1, 1, tzinfo=UTC),
        now + timedelta(seconds=LONGEST_ENTRY_SECONDS),
    ]
    if until is not None and (moment := until()) is not None:
        ends.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(ends)


def _filled(response: Response) -> Response:
    """Put this visitor's values into a page rendered with placeholders."""
    if response.is_streamed or response.direct_passthrough:
        return response
    body = response.get_data()
    for name, item in _HOLES.items():
        marker = _placeholder(name).encode()
        if marker in body:
            body = body.replace(marker, item.fill().encode())
    response.set_data(body)
    return response


def _private(response: Any) -> Response:
    response = make_response(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    return response


def _coding(entry: Entry, asked: WerkzeugRequest | None = None) -> tuple[str | None, str]:
    """The content coding this request (or `asked`) gets the copy in, and the copy's strong
    ETag for it (the compression hook names the coding in a strong ETag)."""
    mimetype = entry.content_type.split(";")[0].strip()
    encoding = chosen_encoding(mimetype, len(entry.body), asked)
    return encoding, f"{entry.etag}:{encoding}" if encoding else entry.etag


def _respond(entry: Entry) -> Response:
    """The entry for this visitor: 304 when their copy is current, else the page, filled in and
    compressed as the browser accepts."""
    last_modified = entry.last_modified
    etag, weak = entry.etag, False
    encoding, coded_etag = _coding(entry)
    if entry.holes:
        ages = [age for name in entry.holes if (age := _HOLES[name].max_age())]
        window = max(60, min(ages) // 2) if ages else LONGEST_ENTRY_SECONDS
        epoch = int(time.time()) // window
        last_modified = max(last_modified, epoch * window)
        weak = True

        def visitor_etag() -> str:
            token = session.get(_csrf_field(), "")
            mark = hashlib.sha256(f"{token}:{epoch}".encode()).hexdigest()[:12]
            return f"{entry.etag}-{mark}"

        etag = visitor_etag() if session.get(_csrf_field()) else ""
    sent_etag = etag if weak else coded_etag
    # A page with holes is validated by its ETag alone: a date can't tell whose session a copy
    # was made for.
    modified = not etag or is_resource_modified(
        request.environ,
        etag=f'W/"{sent_etag}"' if weak else sent_etag,
        last_modified=None if weak else datetime.fromtimestamp(last_modified, UTC),
    )
    if modified:
        body = entry.body
        for name in entry.holes:
            body = body.replace(_placeholder(name).encode(), _HOLES[name].fill().encode())
        response = Response(body, status=200, content_type=entry.content_type)
        offer_copies(response, entry.encoded, fast=bool(entry.holes))
        if entry.holes:
            etag = visitor_etag()
        response.set_etag(etag, weak=weak)
    else:
        response = Response(status=304)
        response.set_etag(sent_etag, weak=weak)
    response.last_modified = datetime.fromtimestamp(last_modified, UTC)
    response.headers["Cache-Control"] = "private, no-cache" if entry.holes else "public, no-cache"
    response.vary.add("Cookie")
    if encoding or entry.encoded:
        response.vary.add("Accept-Encoding")
    return response


@dataclass(frozen=True)
class SharedSpec:
    topics: tuple[str, ...]
    accepted: frozenset[str]


_SHARED_VIEWS: dict[Callable[..., Any], SharedSpec] = {}


def _is_shared_page_read() -> bool:
    """A GET of a shared page: no rate limit applies to one (the shop limits forms, not reading),
    and a shared copy costs next to nothing, so the limiter's per-request bookkeeping is skipped."""
    return (
        request.method in ("GET", "HEAD")
        and current_app.view_functions.get(request.endpoint or "") in _SHARED_VIEWS
    )


limiter.request_filter(_is_shared_page_read)


def shared_page(
    *topics: str,
    args: Iterable[str] = (),
    until: Callable[[], datetime | None] | None = None,
) -> Callable[[View], View]:
    """Serve a view's page from the shared cache to visitors who share it (see the module).

    `topics`: what the page shows; `args`: the query names it reads (numbers only); `until`: the
    next moment the page changes by itself (a scheduled article's time), if any.
    """
    accepted = frozenset(args)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(**view_args: Any) -> Any:
            cache: PageCache | None = current_app.extensions.get("page_cache")
            if cache is None or not visitor_shares_pages():
                return _private(view(**view_args))
            query = _canonical_query(accepted)
            if query is None:
                return _private(view(**view_args))
            page = f"{request.path}?{query}"
            return cache.serve(page, topics, lambda: view(**view_args), until)

        _SHARED_VIEWS[wrapper] = SharedSpec(topics, accepted)
        return wrapper  # type: ignore[return-value]

    return decorate


# A process remembers the finished headers of this many kinds of answer (one per kept copy,
# coding and 200/304) to browsers without cookies.
REMEMBERED_ANSWERS = 4096


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Found:
    entry: Entry
    page: str


NOT_KEPT = object()  # looked up: no current copy


class KeptPageShortcut:
    """WSGI middleware: a request for a shared page that is kept and current is answered here,
    before Flask dispatches it, so a kept page costs about what a bare Flask response does.

    It pushes the request context (so the session, the visitor's CSRF token and the app's
    response hooks work as usual), finds the view, and asks the same questions as `@shared_page`:
    does this visitor share the page, is the query string one the page takes, is the kept copy
    current? If so the copy is answered through `_respond` and `app.process_response` (the
    security headers, compression and the session cookie: every after-request hook), as Flask
    would. Skipped are the before-request hooks, none of which applies to reading a kept shared
    page: the rate limiter (not applied to reading), CSRF checks (GET), and the refusals of NUL
    characters and uploaded files (a kept page is one Flask answered 200 for exactly this path
    and query). Anything else — a miss, a private visitor, an error — goes on to Flask. Off in
    development, where Flask refuses requests from other computers before anything else.

    A browser without cookies asking for a copy without holes (a first visit, a crawler, a CDN)
    has no session and nothing of its own: the answer is the copy's bytes with headers that
    depend on nothing but the copy, its coding and whether it is a 304. Those headers, made once
    by the path above, are remembered per process and sent again without a request context.
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Any]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._answers: dict[
            tuple[str, int, str | None, bool], tuple[str, list[tuple[str, str]]]
        ] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        cache: PageCache | None = self.app.extensions.get("page_cache")
        if (
            cache is not None
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and self.app.config["SHOP_ENV"] != "development"
        ):
            try:
                remembered = self._remembered(cache, environ)
            except StoreUnavailable:
                remembered = None
            if isinstance(remembered, Answer):
                start_response(remembered.status, remembered.headers)
                return [remembered.body]
            if remembered is not NOT_KEPT:
                response = self._kept(cache, environ, remembered)
                if response is not None:
                    return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _remembered(
        self, cache: PageCache, environ: dict[str, Any]
    ) -> Answer | Found | object | None:
        """The answer to a browser without cookies, from remembered headers; else the copy
        looked up on the way (for `_kept`), NOT_KEPT when there is no current copy (Flask makes
        it: no second lookup), or None when this path does not apply."""
        if environ.get("HTTP_COOKIE") or environ.get("REQUEST_METHOD") != "GET":
            return None
        asked = WerkzeugRequest(environ)
        try:
            endpoint, _args = self.app.url_map.bind_to_environ(environ).match()
        except (HTTPException, RequestRedirect):
            return None
        spec = _SHARED_VIEWS.get(self.app.view_functions.get(endpoint))  # type: ignore[arg-type]
        query = None if spec is None else _canonical_query(spec.accepted, asked.args)
        if spec is None or query is None:
            return None
        page = f"{asked.path}?{query}"
        entry, current, _versions = cache.lookup(page, spec.topics)
        if entry is None or not current:
            return NOT_KEPT
        if entry.holes:
            return Found(entry, page)
        encoding, etag = _coding(entry, asked)
        modified = is_resource_modified(
            environ, etag=etag, last_modified=datetime.fromtimestamp(entry.last_modified, UTC)
        )
        answer = self._answers.get((entry.etag, entry.last_modified, encoding, modified))
        if answer is None:
            return Found(entry, page)
        body = (entry.encoded[encoding] if encoding else entry.body) if modified else b""
        return Answer(answer[0], answer[1], body)

    def _kept(
        self,
        cache: PageCache,
        environ: dict[str, Any],
        looked_up: Found | object | None,
    ) -> Response | None:
        context = self.app.request_context(environ)
        context.push()
        try:
            if request.routing_exception is not None:
                return None
            spec = _SHARED_VIEWS.get(self.app.view_functions.get(request.endpoint or ""))  # type: ignore[arg-type]
            if spec is None or not visitor_shares_pages():
                return None
            query = _canonical_query(spec.accepted)
            if query is None:
                return None
            page = f"{request.path}?{query}"
            if isinstance(looked_up, Found) and looked_up.page == page:
                entry: Entry | None = looked_up.entry
            else:
                entry, current, _versions = cache.lookup(page, spec.topics)
                if entry is None or not current:
                    return None
            assert entry is not None
            response = self.app.process_response(_respond(entry))
            self._remember(environ, entry, response)
            return response
        except StoreUnavailable:  # Flask renders the page (and says so in the log)
            return None
        except Exception:  # Flask answers instead, with its own error handling
            logger.exception("page cache: a kept page could not be served; Flask answers")
            return None
        finally:
            context.pop()

    def _remember(self, environ: dict[str, Any], entry: Entry, response: Response) -> None:
        if (
            environ.get("HTTP_COOKIE")
            or environ.get("REQUEST_METHOD") != "GET"
            or entry.holes
            or "Set-Cookie" in response.headers
        ):
            return
        modified = response.status_code == 200
        # As `_remembered` will ask (a 304 names no coding, yet its ETag does).
        encoding, _etag = _coding(entry)
        if len(self._answers) >= REMEMBERED_ANSWERS:
            self._answers.clear()
        headers = response.get_wsgi_headers(environ)
        self._answers[(entry.etag, entry.last_modified, encoding, modified)] = (
            response.status,
            headers.to_wsgi_list(),
        )


def init_page_cache(app: Flask) -> None:
    """Open the store named by PAGE_CACHE_URL and watch the session for changes to topics."""
    url = app.config.get("PAGE_CACHE_URL") or ""
    if not url:
        return
    app.extensions["page_cache"] = PageCache(app, open_store(url))
    from shop.site.page_topics import watch_sessions

    watch_sessions()
