"""The shared page cache and HTTP caching (shop.site.page_cache): pages made once and served to
every visitor who has nothing of their own on them, changed the moment their content changes,
with ETag/Last-Modified and 304s, and each visitor's own CSRF token and form stamp filled in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.blog.models import Article
from shop.catalog.models import Plan
from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.builders.billing import make_plan
from tests.builders.content import make_article, make_box, make_comment
from tests.helpers import comment_form, statements_of_get, text_of

SHARED_PAGES = (
    "/",
    "/boxes/",
    "/boxes/musclebox",
    "/blog/",
    "/blog/tag/strength",
    "/blog/deadlift-basics",
    "/blog/deadlift-basics?page=1",
    "/feed.xml",
    "/sitemap.xml",
)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STAMP = re.compile(r'name="rendered_at"[^>]*value="([^"]+)"')
_ATTEMPT = re.compile(r'name="attempt"[^>]*value="([^"]+)"')


@pytest.fixture
def shop(app: Flask) -> Article:
    box = make_box()
    make_plan(box, term_months=1, price_cents=4995)
    article = make_article("deadlift-basics", title="Deadlift basics", tags=["strength"])
    make_comment(article, body="Approved and public.")
    return article


def _approve(comment_id: int) -> None:
    comment = db.session.get(Comment, comment_id)
    assert comment is not None
    comment.status = CommentStatus.APPROVED
    db.session.commit()


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_a_shared_page_seen_before_runs_no_sql(shop: Article, client: FlaskClient, path: str):
    first = client.get(path)
    assert first.status_code == 200
    assert statements_of_get(client, path) == []
    # …and a new visitor (no cookies at all) is served the same page without the database too.
    assert statements_of_get(client.application.test_client(), path) == []


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_every_shared_page_has_validators_and_answers_304(
    shop: Article, client: FlaskClient, path: str
):
    page = client.get(path)
    etag, last_modified = page.headers["ETag"], page.headers["Last-Modified"]
    assert page.headers["Cache-Control"].endswith("no-cache")
    assert "Cookie" in page.headers["Vary"]

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag

    by_date = client.get(path, headers={"If-Modified-Since": last_modified})
    # A page with a form is validated by its ETag alone (a date can't tell whose session a
    # copy was made for).
    assert by_date.status_code == (200 if etag.startswith("W/") else 304)

    stale = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.get_data()


def test_pages_without_forms_are_public_and_pages_with_forms_private(
    shop: Article, client: FlaskClient
):
    assert client.get("/blog/").headers["Cache-Control"] == "public, no-cache"
    assert client.get("/feed.xml").headers["Cache-Control"] == "public, no-cache"
    assert client.get("/blog/deadlift-basics").headers["Cache-Control"] == "private, no-cache"
    assert client.get("/boxes/musclebox").headers["Cache-Control"] == "private, no-cache"


def test_approving_a_comment_changes_the_article_page_at_once(shop: Article, client: FlaskClient):
    held = make_comment(shop, body="Held until an admin looks.", status=CommentStatus.PENDING)
    before = client.get("/blog/deadlift-basics")
    assert "Held until an admin looks." not in text_of(before)
    assert client.get("/blog/deadlift-basics").headers["ETag"] == before.headers["ETag"]

    _approve(held.id)
    after = client.get(
        "/blog/deadlift-basics",
        headers={
            "If-None-Match": before.headers["ETag"],
            "If-Modified-Since": before.headers["Last-Modified"],
        },
    )
    assert after.status_code == 200
    assert "Held until an admin looks." in text_of(after)
    assert "2 responses" in text_of(after)
    # Last-Modified moved on although both answers fell in the same second.
    assert after.last_modified > before.last_modified
    only_by_date = client.get(
        "/blog/deadlift-basics", headers={"If-Modified-Since": before.headers["Last-Modified"]}
    )
    assert only_by_date.status_code == 200


def test_moderating_in_the_admin_changes_the_page(
    shop: Article, client: FlaskClient, admin_client: FlaskClient
):
    held = make_comment(shop, body="Bulk approved later.", status=CommentStatus.PENDING)
    assert "Bulk approved later." not in text_of(client.get("/blog/deadlift-basics"))
    token = _CSRF.search(admin_client.get("/admin/comments").get_data(as_text=True))
    assert token
    response = admin_client.post(
        "/admin/comments/bulk?status=pending",
        data={"csrf_token": token.group(1), "action": "approve", "ids": [str(held.id)]},
    )
    assert response.status_code in (302, 303)
    assert "Bulk approved later." in text_of(client.get("/blog/deadlift-basics"))


def test_a_held_comment_does_not_empty_the_cache(shop: Article, client: FlaskClient):
    """A comment held for moderation is on no shared page: the page stays cached."""
    client.get("/blog/deadlift-basics")
    make_comment(shop, body="Waiting.", status=CommentStatus.PENDING)
    assert statements_of_get(client, "/blog/deadlift-basics") == []


def test_editing_an_article_changes_its_page_and_the_lists(shop: Article, client: FlaskClient):
    for path in ("/blog/deadlift-basics", "/blog/", "/", "/feed.xml"):
        assert "Deadlift basics" in text_of(client.get(path)), path
    shop.title = "Deadlifts, the basics"
    db.session.commit()
    for path in ("/blog/deadlift-basics", "/blog/", "/", "/feed.xml", "/blog/tag/strength"):
        assert "Deadlifts, the basics" in text_of(client.get(path)), path


def test_a_new_plan_price_shows_on_the_box_pages_at_once(shop: Article, client: FlaskClient):
    assert "$49.95 AUD" in text_of(client.get("/boxes/musclebox"))
    plan = db.session.scalars(db.select(Plan)).one()
    plan.price_cents = 5495
    db.session.commit()
    page = text_of(client.get("/boxes/musclebox"))
    assert "$54.95 AUD" in page and "$49.95" not in page


def test_a_rolled_back_change_keeps_the_cache(shop: Article, client: FlaskClient):
    client.get("/blog/deadlift-basics")
    shop.title = "Never saved"
    db.session.flush()
    db.session.rollback()
    assert statements_of_get(client, "/blog/deadlift-basics") == []


def test_every_visitor_gets_their_own_csrf_token_and_stamp(shop: Article, app: Flask):
    first, second = app.test_client(), app.test_client()
    one, two = (c.get("/blog/deadlift-basics").get_data(as_text=True) for c in (first, second))
    assert "pagehole" not in one and "pagehole" not in two
    token_one, token_two = _CSRF.search(one), _CSRF.search(two)
    assert token_one and token_two and token_one.group(1) != token_two.group(1)
    assert _STAMP.search(one) and _STAMP.search(two)
    box_one = first.get("/boxes/musclebox").get_data(as_text=True)
    box_two = second.get("/boxes/musclebox").get_data(as_text=True)
    attempts = (_ATTEMPT.search(box_one), _ATTEMPT.search(box_two))
    assert attempts[0] and attempts[1] and attempts[0].group(1) != attempts[1].group(1)
    assert "pagehole" not in box_one


def test_a_comment_posted_from_a_cached_page_is_accepted(shop: Article, app: Flask):
    app.test_client().get("/blog/deadlift-basics")  # someone else's visit fills the cache
    reader = app.test_client()
    data = comment_form(reader, "deadlift-basics", comment="From a cached page")
    response = reader.post("/blog/deadlift-basics/comments", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    saved = db.session.scalars(db.select(Comment).where(Comment.body == "From a cached page"))
    assert saved.one()


def test_another_visitors_token_is_refused(shop: Article, app: Flask):
    owner, stranger = app.test_client(), app.test_client()
    data = comment_form(owner, "deadlift-basics", comment="Forged")
    stranger.get("/blog/deadlift-basics")
    response = stranger.post("/blog/deadlift-basics/comments", data=data)
    assert response.status_code == 400
    assert not db.session.scalars(db.select(Comment).where(Comment.body == "Forged")).all()


def test_a_visitors_etag_is_theirs_alone(shop: Article, app: Flask):
    first, second = app.test_client(), app.test_client()
    etag = first.get("/blog/deadlift-basics").headers["ETag"]
    assert etag.startswith('W/"')
    second.get("/blog/deadlift-basics")
    response = second.get("/blog/deadlift-basics", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert first.get("/blog/deadlift-basics", headers={"If-None-Match": etag}).status_code == 304


def test_a_304_is_never_given_for_a_form_whose_token_may_expire(
    shop: Article, app: Flask, monkeypatch: pytest.MonkeyPatch
):
    """A revalidated form page keeps its old token: after half the token's life it is sent anew."""
    reader = app.test_client()
    page = reader.get("/blog/deadlift-basics")
    now = datetime.now(UTC).timestamp()
    later = now + app.config["WTF_CSRF_TIME_LIMIT"]
    monkeypatch.setattr("shop.site.page_cache.time.time", lambda: later)
    response = reader.get("/blog/deadlift-basics", headers={"If-None-Match": page.headers["ETag"]})
    assert response.status_code == 200


def test_a_visitor_with_their_own_held_comment_sees_it_and_others_do_not(shop: Article, app: Flask):
    reader, other = app.test_client(), app.test_client()
    other.get("/blog/deadlift-basics")
    data = comment_form(reader, "deadlift-basics", comment="Mine, held", email="new@example.com")
    reader.post("/blog/deadlift-basics/comments", data=data)
    db.session.scalars(db.select(Comment).where(Comment.body == "Mine, held")).one()
    own = reader.get("/blog/deadlift-basics")
    assert "Mine, held" in text_of(own)
    assert own.headers["Cache-Control"] == "private, no-store"
    assert "Mine, held" not in text_of(other.get("/blog/deadlift-basics"))
    assert "Mine, held" not in text_of(app.test_client().get("/blog/deadlift-basics"))


def test_a_remembered_commenter_gets_their_own_form(shop: Article, app: Flask):
    reader = app.test_client()
    data = comment_form(
        reader, "deadlift-basics", author="Remembered Rita", email="rita@example.com", remember="y"
    )
    reader.post("/blog/deadlift-basics/comments", data=data)
    fresh = app.test_client()
    fresh.set_cookie("mb_commenter", reader.get_cookie("mb_commenter").value)
    page = fresh.get("/blog/deadlift-basics")
    assert 'value="Remembered Rita"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "Remembered Rita" not in app.test_client().get("/blog/deadlift-basics").get_data(
        as_text=True
    )


def test_signed_in_people_get_pages_of_their_own(
    shop: Article, client: FlaskClient, admin_client: FlaskClient
):
    client.get("/blog/")
    page = admin_client.get("/blog/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in page.headers


def test_a_message_waiting_gets_a_page_of_its_own(shop: Article, app: Flask):
    reader = app.test_client()
    reader.get("/")
    with reader.session_transaction() as session:
        session["_flashes"] = [("info", "You are signed out.")]
    page = reader.get("/")
    assert "You are signed out." in text_of(page)
    assert page.headers["Cache-Control"] == "private, no-store"


def test_query_strings_the_page_does_not_know_are_served_uncached(
    shop: Article, client: FlaskClient
):
    client.get("/blog/")
    tracked = client.get("/blog/?utm_source=newsletter")
    assert tracked.status_code == 200
    assert tracked.headers["Cache-Control"] == "private, no-store"
    assert len(statements_of_get(client, "/blog/?utm_source=newsletter")) > 0
    assert client.get("/blog/?page=01").headers["Cache-Control"] == "private, no-store"
    assert client.get("/blog/?page=abc").status_code == 404


def test_a_reply_link_is_rendered_for_its_visitor_and_never_kept(
    shop: Article, client: FlaskClient
):
    """Kept, every comment would multiply every comment page (and crawlers follow links): the
    form set to answer one comment is made for the visitor who pressed Reply."""
    parent = db.session.scalars(db.select(Comment)).one()
    plain = client.get("/blog/deadlift-basics")
    assert 'rel="nofollow"' in plain.get_data(as_text=True).split('class="reply-link"')[1][:120]
    for made_up in (str(parent.id), "999"):
        path = f"/blog/deadlift-basics?replyto={made_up}"
        replying = client.get(path)
        assert replying.status_code == 200
        assert replying.headers["Cache-Control"] == "private, no-store"
        assert len(statements_of_get(client, path)) > 0
    replying = client.get(f"/blog/deadlift-basics?replyto={parent.id}")
    assert f'value="{parent.id}"' in replying.get_data(as_text=True)
    assert "Cancel reply" in text_of(replying) and "Cancel reply" not in text_of(plain)


def test_errors_are_not_kept(shop: Article, client: FlaskClient):
    assert client.get("/blog/not-yet").status_code == 404
    make_article("not-yet", title="Not yet")
    assert client.get("/blog/not-yet").status_code == 200


def test_a_scheduled_article_appears_on_kept_lists_at_its_time(
    shop: Article, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
):
    from shop.blog.models import ArticleStatus

    soon = datetime.now(UTC) + timedelta(hours=2)
    make_article(
        "tomorrows-lift", title="Tomorrow's lift", status=ArticleStatus.SCHEDULED, published_at=soon
    )
    assert "Tomorrow's lift" not in text_of(client.get("/blog/"))
    assert statements_of_get(client, "/blog/") == []  # kept…
    later = soon + timedelta(minutes=1)
    monkeypatch.setattr("shop.site.page_cache.utcnow", lambda: later)
    monkeypatch.setattr("shop.blog.views.utcnow", lambda: later)
    assert "Tomorrow's lift" in text_of(client.get("/blog/"))  # …until its time


def test_pages_are_served_when_the_cache_is_down(app_settings: dict[str, object]):
    from tests.conftest import build_app

    down = build_app(PAGE_CACHE_URL="redis://127.0.0.1:9/0")  # nothing listens on port 9
    with down.app_context():
        db.create_all()
        make_box()
        make_article("still-here", title="Still here")
        client = down.test_client()
        for path in ("/", "/blog/", "/blog/still-here", "/feed.xml"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["Cache-Control"] == "private, no-store"
        assert "Still here" in text_of(client.get("/blog/still-here"))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_clear_page_cache_command(shop: Article, app: Flask, client: FlaskClient):
    client.get("/blog/")
    result = app.test_cli_runner().invoke(args=["clear-page-cache"])
    assert result.exit_code == 0, result.output
    assert len(statements_of_get(client, "/blog/")) > 0


def _redis_or_skip(url: str) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (redis.RedisError, OSError):
        pytest.skip(f"needs Redis at {url} (the production page store)")


def test_two_apps_share_one_redis_store(tmp_path):  # type: ignore[no-untyped-def]
    """Two instances of the shop (as two servers would be) on one database and one Redis: a
    page one of them made is served by the other without SQL, and a change made through one is
    seen at once on both."""
    from tests.conftest import build_app

    url = "redis://127.0.0.1:6379/7"
    _redis_or_skip(url)
    import redis

    redis.Redis.from_url(url).flushdb()
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    one = build_app(PAGE_CACHE_URL=url, SQLALCHEMY_DATABASE_URI=database)
    two = build_app(PAGE_CACHE_URL=url, SQLALCHEMY_DATABASE_URI=database)
    try:
        with one.app_context():
            db.create_all()
            make_box()
            article = make_article("shared", title="Shared article")
            make_comment(article, body="First words.")
            held_id = make_comment(article, body="Second words.", status=CommentStatus.PENDING).id
            assert "First words." in text_of(one.test_client().get("/blog/shared"))
        with two.app_context():
            assert statements_of_get(two.test_client(), "/blog/shared") == []
        with one.app_context():
            _approve(held_id)
        with two.app_context():
            assert "Second words." in text_of(two.test_client().get("/blog/shared"))
    finally:
        with one.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
        with two.app_context():
            db.engine.dispose()
        redis.Redis.from_url(url).flushdb()


def test_a_signed_in_customer_gets_pages_of_their_own(shop: Article, app: Flask):
    from tests.accounts.conftest import sign_in
    from tests.builders.billing import make_customer

    anonymous = app.test_client()
    anonymous.get("/blog/deadlift-basics")
    customer = app.test_client()
    assert sign_in(customer, make_customer("lifter@example.com")).status_code == 303
    for path in ("/", "/blog/deadlift-basics", "/boxes/musclebox"):
        page = customer.get(path)
        assert page.status_code == 200, path
        assert page.headers["Cache-Control"] == "private, no-store", path


def test_a_kept_page_is_answered_before_flask_dispatches(shop: Article, app: Flask):
    """The shortcut (KeptPageShortcut): no before-request hook, no view; the response hooks
    (security headers, the new visitor's session cookie) still run."""
    dispatched: list[str] = []
    app.before_request_funcs.setdefault(None, []).append(lambda: dispatched.append("x") and None)
    reader = app.test_client()
    first = reader.get("/blog/deadlift-basics")  # made and kept by Flask
    assert dispatched == ["x"]
    for path in ("/blog/deadlift-basics", "/blog/deadlift-basics"):
        visitor = app.test_client()  # a new visitor: gets a session (and CSRF token) of their own
        kept = visitor.get(path)
        assert kept.status_code == 200
        assert "session=" in kept.headers["Set-Cookie"]
        assert kept.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
        assert kept.headers["X-Frame-Options"] == "DENY"
        token = _CSRF.search(kept.get_data(as_text=True))
        assert token and "pagehole" not in token.group(1)
    again = reader.get("/blog/deadlift-basics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert dispatched == ["x"]
    # A visitor with something of their own still goes through Flask.
    with reader.session_transaction() as session:
        session["_flashes"] = [("info", "Hello again.")]
    assert "Hello again." in text_of(reader.get("/blog/deadlift-basics"))
    assert dispatched == ["x", "x"]


def test_a_comment_posted_from_a_page_the_shortcut_served_is_accepted(shop: Article, app: Flask):
    app.test_client().get("/blog/deadlift-basics")
    reader = app.test_client()
    data = comment_form(reader, "deadlift-basics", comment="Posted from a kept copy")
    assert reader.post("/blog/deadlift-basics/comments", data=data).status_code in (302, 303)
    assert db.session.scalars(db.select(Comment).where(Comment.body == "Posted from a kept copy"))


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_kept_pages_are_sent_compressed_and_revalidate_per_coding(
    shop: Article, app: Flask, encoding: str
):
    import gzip

    import brotli

    decode = brotli.decompress if encoding == "br" else gzip.decompress
    plain = app.test_client().get("/blog/")
    reader = app.test_client()
    for _ in range(2):  # made, then kept
        page = reader.get("/blog/", headers={"Accept-Encoding": encoding})
        assert page.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in page.headers["Vary"]
        assert decode(page.get_data()) == plain.get_data()
        assert page.headers["ETag"] == plain.headers["ETag"][:-1] + f':{encoding}"'
    again = reader.get(
        "/blog/", headers={"Accept-Encoding": encoding, "If-None-Match": page.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["ETag"] == page.headers["ETag"]
    # The uncompressed copy's validator does not stand for the compressed one, nor the reverse.
    other = reader.get(
        "/blog/", headers={"Accept-Encoding": encoding, "If-None-Match": plain.headers["ETag"]}
    )
    assert other.status_code == 200
    assert reader.get("/blog/", headers={"If-None-Match": page.headers["ETag"]}).status_code == 200


def test_a_page_with_a_form_is_compressed_for_each_visitor_with_their_own_token(
    shop: Article, app: Flask
):
    import brotli

    app.test_client().get("/blog/deadlift-basics")
    pages = [
        brotli.decompress(
            app.test_client()
            .get("/blog/deadlift-basics", headers={"Accept-Encoding": "br"})
            .get_data()
        ).decode()
        for _ in range(2)
    ]
    tokens = [_CSRF.search(page) for page in pages]
    assert tokens[0] and tokens[1] and tokens[0].group(1) != tokens[1].group(1)
    assert "pagehole" not in pages[0] and "Approved and public." in pages[0]


def test_a_browser_refusing_every_coding_gets_the_page_as_is(shop: Article, app: Flask):
    app.test_client().get("/feed.xml")
    page = app.test_client().get("/feed.xml", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in page.headers
    assert page.get_data().startswith(b"<?xml")


def test_a_date_alone_never_revalidates_another_sessions_form(shop: Article, app: Flask):
    first = app.test_client().get("/blog/deadlift-basics")
    other = app.test_client()
    other.get("/blog/deadlift-basics")
    response = other.get(
        "/blog/deadlift-basics", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert response.status_code == 200


def test_an_article_going_live_while_a_list_is_made_is_not_left_off(
    shop: Article, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
):
    """How long a list is kept is asked before it is rendered: an article whose time comes in
    between is on the page (or the copy is due at once), never left off for a day."""
    from shop.blog.models import ArticleStatus

    live_at = datetime.now(UTC) + timedelta(hours=1)
    make_article(
        "just-in-time", title="Just in time", status=ArticleStatus.SCHEDULED, published_at=live_at
    )
    moments = iter([live_at - timedelta(seconds=1)])  # the first reading, then it has gone live

    def blog_clock() -> datetime:
        return next(moments, live_at + timedelta(seconds=1))

    monkeypatch.setattr("shop.blog.views.utcnow", blog_clock)
    monkeypatch.setattr("shop.site.page_cache.utcnow", lambda: live_at + timedelta(seconds=1))
    assert "Just in time" in text_of(client.get("/blog/"))
    assert "Just in time" in text_of(client.get("/blog/"))


def test_a_store_that_failed_is_left_alone_for_a_moment(shop: Article, app: Flask):
    """A hung Redis must not add its timeout to every page: after a failed read, pages are made
    without the store for STORE_REST_SECONDS, then it is asked again."""
    from shop.site import page_cache

    class FailingStore(page_cache.MemoryStore):
        reads = 0

        def get_many(self, keys: list[str]) -> list[bytes | None]:
            FailingStore.reads += 1
            raise page_cache.StoreUnavailable("timed out")

    cache = app.extensions["page_cache"]
    cache.store = FailingStore()
    for _ in range(3):
        assert app.test_client().get("/blog/").status_code == 200
    assert FailingStore.reads == 1
    cache._resting_until = 0.0  # the moment has passed
    app.test_client().get("/blog/")
    assert FailingStore.reads == 2


@pytest.mark.parametrize("encoding", [None, "br", "gzip"])
def test_a_browser_without_cookies_gets_the_same_answer_from_remembered_headers(
    shop: Article, app: Flask, encoding: str | None
):
    """Headers of a kept copy without holes are remembered per process for browsers without
    cookies; the answer is the same as the one made through Flask's response hooks."""
    from shop.site.page_cache import KeptPageShortcut

    headers = {"Accept-Encoding": encoding} if encoding else {}
    app.test_client().get("/feed.xml", headers=headers)  # made by Flask, kept
    made = app.test_client().get("/feed.xml", headers=headers)  # through the hooks, remembered
    calls: list[str] = []
    original = KeptPageShortcut._kept
    app.before_request_funcs.setdefault(None, []).append(lambda: calls.append("flask") and None)

    def counted(self, *args):  # type: ignore[no-untyped-def]
        calls.append("context")
        return original(self, *args)

    KeptPageShortcut._kept = counted  # type: ignore[method-assign]
    try:
        remembered = app.test_client().get("/feed.xml", headers=headers)
        not_modified = app.test_client().get(
            "/feed.xml", headers={**headers, "If-None-Match": made.headers["ETag"]}
        )
        not_modified_again = app.test_client().get(
            "/feed.xml", headers={**headers, "If-None-Match": made.headers["ETag"]}
        )
    finally:
        KeptPageShortcut._kept = original  # type: ignore[method-assign]
    assert calls == ["context"]  # the first 304 went through the hooks, then was remembered
    assert remembered.get_data() == made.get_data()
    assert {k: v for k, v in remembered.headers.items() if k != "Date"} == {
        k: v for k, v in made.headers.items() if k != "Date"
    }
    assert not_modified.status_code == not_modified_again.status_code == 304
    assert not_modified_again.headers["ETag"] == made.headers["ETag"]
    assert not_modified_again.get_data() == b""
    # A change makes a new copy, with its own remembered answer.
    shop.title = "Deadlifts, remembered no more"
    db.session.commit()
    changed = app.test_client().get("/feed.xml", headers=headers)
    assert changed.headers["ETag"] != made.headers["ETag"]
    if not encoding:
        assert "Deadlifts, remembered no more" in changed.get_data(as_text=True)
