"""Static files under content-hashed URLs with year-long caching, and compressed text responses
(never on admin, account or POST answers), as shop/site/static_files.py and compression.py say."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
from pathlib import Path

import brotli
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import event

from shop import PROJECT_ROOT
from shop.extensions import db
from shop.site.compression import compress_response, may_compress
from tests.builders.billing import make_plan, many_shipments
from tests.builders.content import make_admin, make_article, make_box
from tests.conftest import build_app
from tests.helpers import csrf_token

STATIC = PROJECT_ROOT / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
GZIP = {"Accept-Encoding": "gzip"}
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
_STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def version_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_links(client: FlaskClient, page: str = "/") -> dict[str, str]:
    """{filename: URL} of the static files a page links to."""
    html = client.get(page).get_data(as_text=True)
    links = [link.replace("&amp;", "&") for link in _STATIC_LINK.findall(html)]
    return {link.partition("?")[0].removeprefix("/static/"): link for link in links}


def vary(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {item.strip().lower() for item in response.headers.get("Vary", "").split(",") if item}


# -- content-hashed URLs --------------------------------------------------------------------------


def test_the_home_page_links_static_files_by_the_hash_of_their_bytes(client: FlaskClient) -> None:
    links = static_links(client)
    assert links["css/site.css"] == f"/static/css/site.css?v={version_of(STATIC / 'css/site.css')}"
    favicon = STATIC / "img/favicon.svg"
    assert links["img/favicon.svg"] == f"/static/img/favicon.svg?v={version_of(favicon)}"


def test_a_name_that_is_no_file_gets_no_version(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("static", filename="css/missing.css") == "/static/css/missing.css"
        assert url_for("static", filename="css") == "/static/css"  # a folder
        assert url_for("static", filename="../shop/__init__.py") == "/static/../shop/__init__.py"


@pytest.fixture
def own_static(tmp_path: Path) -> Path:
    """A copy of static/ the test may change."""
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    return folder


def test_the_url_changes_when_the_file_changes_while_make_run_serves(own_static: Path) -> None:
    app = build_app(SHOP_ENV="development")
    app.static_folder = str(own_static)
    stylesheet = own_static / "css/site.css"
    client = app.test_client()
    with app.test_request_context():
        before = url_for("static", filename="css/site.css")
    assert before == f"/static/css/site.css?v={version_of(stylesheet)}"
    assert client.get(before).headers["Cache-Control"] == IMMUTABLE

    stylesheet.write_text(stylesheet.read_text() + "\n.new-rule { color: red; }\n")
    with app.test_request_context():
        after = url_for("static", filename="css/site.css")
    assert after != before
    assert after == f"/static/css/site.css?v={version_of(stylesheet)}"

    # The old URL is no longer promised for a year; the new one is, and serves the new bytes.
    assert client.get(before).headers["Cache-Control"] == "no-cache"
    fresh = client.get(after, buffered=True)
    assert fresh.headers["Cache-Control"] == IMMUTABLE
    assert b".new-rule" in fresh.get_data()


def test_a_file_with_the_same_size_and_new_bytes_gets_a_new_url_too(own_static: Path) -> None:
    app = build_app(SHOP_ENV="development")
    app.static_folder = str(own_static)
    icon = own_static / "img/favicon.svg"
    with app.test_request_context():
        before = url_for("static", filename="img/favicon.svg")
    original = icon.read_bytes()
    icon.write_bytes(original.replace(b"<svg", b"<SVG", 1))  # same length, other bytes
    stamp = icon.stat()
    os.utime(icon, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))  # an editor's save
    with app.test_request_context():
        after = url_for("static", filename="img/favicon.svg")
    assert after != before
    assert after.endswith(f"?v={version_of(icon)}")


# -- cache headers ------------------------------------------------------------------------------


def test_the_hashed_url_is_cached_for_a_year(client: FlaskClient) -> None:
    url = static_links(client)["css/site.css"]
    response = client.get(url, buffered=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.get_data() == (STATIC / "css/site.css").read_bytes()


@pytest.mark.parametrize(
    "query",
    ["", "?v=", "?v=0123456789ab", "?v=" + "f" * 64, "?v=" + "x" * 5000, "?v=a&v=b", "?other=1"],
)
def test_without_the_current_version_the_file_is_revalidated(
    client: FlaskClient, query: str
) -> None:
    response = client.get("/static/css/site.css" + query, buffered=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Expires" not in response.headers
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    assert response.get_data() == (STATIC / "css/site.css").read_bytes()


@pytest.mark.parametrize("headers", [{}, GZIP], ids=["identity", "gzip"])
def test_a_conditional_request_gets_304(client: FlaskClient, headers: dict[str, str]) -> None:
    for url in (static_links(client)["css/site.css"], "/static/css/site.css"):
        first = client.get(url, headers=headers, buffered=True)
        again = client.get(
            url, headers={**headers, "If-None-Match": first.headers["ETag"]}, buffered=True
        )
        assert again.status_code == 304, url
        assert again.get_data() == b""
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
        since = client.get(
            url,
            headers={**headers, "If-Modified-Since": first.headers["Last-Modified"]},
            buffered=True,
        )
        assert since.status_code == 304, url


@pytest.mark.parametrize(
    "path",
    [
        "/static/../shop/__init__.py",
        "/static/%2e%2e/shop/__init__.py",
        "/static/css/../../shop/config.py",
        "/static/missing.css",
        "/static/missing.css?v=",
        "/static/css",
        "/static/css/",
        "/static/" + "a" * 5000,
        "/static/css/site.css/x",
    ],
)
def test_odd_static_paths_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=BROWSER, buffered=True)
    assert response.status_code == 404


def test_a_static_file_carries_no_session_cookie(app: Flask, client: FlaskClient) -> None:
    # A signed-in customer's session is permanent, so Flask re-signs its cookie on each request;
    # varying by it would make the browser fetch every file again on every page.
    with client.session_transaction() as session:
        session.permanent = True
        session["customer_session"] = "someone"
    page = client.get("/account/login")
    assert "cookie" in vary(page) and page.headers.get("Set-Cookie")  # pages keep the session
    url = static_links(client)["css/site.css"]
    response = client.get(url, headers=BROWSER, buffered=True)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert vary(response) == {"accept-encoding"}


# -- compression -------------------------------------------------------------------------------


def decoded(response) -> bytes:  # type: ignore[no-untyped-def]
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    assert encoding is None, encoding
    return body


def test_the_home_page_is_gzipped_for_a_browser_that_asks(client: FlaskClient) -> None:
    plain = client.get("/")
    zipped = client.get("/", headers=GZIP)
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in vary(zipped) and "accept-encoding" in vary(plain)
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data())
    assert len(zipped.get_data()) < len(plain.get_data()) / 2


def test_brotli_for_a_browser_that_takes_it(client: FlaskClient) -> None:
    plain = client.get("/")
    squeezed = client.get("/", headers=BROWSER)
    assert squeezed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(squeezed.get_data()) == plain.get_data()
    # The browser's preference wins over ours.
    preferred = client.get("/", headers={"Accept-Encoding": "br;q=0.5, gzip;q=1.0"})
    assert preferred.headers["Content-Encoding"] == "gzip"


def test_the_feed_and_a_stylesheet_are_gzipped(client: FlaskClient) -> None:
    for n in range(3):
        make_article(title=f"Deadlift form, part {n}", body="Hinge at the hips. " * 40)
    plain, zipped = client.get("/feed.xml"), client.get("/feed.xml", headers=GZIP)
    assert zipped.headers["Content-Type"].startswith("application/atom+xml")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()

    url = static_links(client)["css/site.css"]
    css = client.get(url, headers=GZIP, buffered=True)
    assert css.headers["Content-Encoding"] == "gzip"
    assert css.headers["Cache-Control"] == IMMUTABLE
    assert gzip.decompress(css.get_data()) == (STATIC / "css/site.css").read_bytes()


def test_nothing_is_compressed_without_accept_encoding_or_when_tiny(client: FlaskClient) -> None:
    assert (
        "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers
    )
    healthz = client.get("/healthz", headers=GZIP)
    assert len(healthz.get_data()) < 500
    assert "Content-Encoding" not in healthz.headers


def test_admin_pages_are_never_compressed(admin_client: FlaskClient) -> None:
    for path in ("/admin/", "/admin/subscriptions?q=guess", "/admin/articles"):
        response = admin_client.get(path, headers=BROWSER)
        assert response.status_code == 200, path
        assert len(response.get_data()) > 500, path  # big enough that only the rule stops it
        assert "Content-Encoding" not in response.headers, path


def test_account_pages_and_posted_forms_are_never_compressed(client: FlaskClient) -> None:
    page = client.get("/account/login", headers=BROWSER)
    assert page.status_code == 200 and len(page.get_data()) > 500
    assert "Content-Encoding" not in page.headers

    # A form error page: the visitor's own text next to a CSRF token.
    refused = client.post(
        "/account/login",
        data={
            "email": "not-an-email-" + "x" * 40,
            "csrf_token": csrf_token(client, "/account/login"),
        },
        headers=BROWSER,
    )
    assert "not-an-email-" in refused.get_data(as_text=True)
    assert len(refused.get_data()) > 500
    assert "Content-Encoding" not in refused.headers

    article = make_article(body="Brace before you lift. " * 40)
    posted = client.post(f"/blog/{article.slug}/comments", data={}, headers=BROWSER)
    assert len(posted.get_data()) > 500
    assert "Content-Encoding" not in posted.headers


def test_a_post_answered_with_a_page_is_never_compressed(app: Flask) -> None:
    """Even on a public path: the page may echo what was posted next to a CSRF token."""

    def echo() -> str:
        return "<p>You typed something.</p>" * 100

    app.add_url_rule("/echo", "echo", echo, methods=["GET", "POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.get("/echo", headers=GZIP).headers["Content-Encoding"] == "gzip"
    posted = client.post("/echo", headers=GZIP)
    assert posted.status_code == 200
    assert "Content-Encoding" not in posted.headers


def test_a_range_of_a_static_file_is_sent_as_it_is(client: FlaskClient) -> None:
    part = client.get(
        "/static/css/site.css", headers={**GZIP, "Range": "bytes=0-4999"}, buffered=True
    )
    assert part.status_code == 206
    assert "Content-Encoding" not in part.headers
    assert part.get_data() == (STATIC / "css/site.css").read_bytes()[:5000]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/", True),
        ("HEAD", "/blog/deadlift", True),
        ("GET", "/feed.xml", True),
        ("GET", "/admin", False),
        ("GET", "/admin/", False),
        ("GET", "/admin/subscriptions", False),
        ("GET", "/account", False),
        ("GET", "/account/login/some-token", False),
        ("POST", "/blog/deadlift/comments", False),
        ("POST", "/checkout", False),
        ("GET", "/administrators-guide", True),  # not the admin area
    ],
)
def test_the_compression_rule(method: str, path: str, allowed: bool) -> None:
    assert may_compress(method, path) is allowed


def test_compression_runs_after_every_other_hook(app: Flask, client: FlaskClient) -> None:
    """A hook registered later (the page cache, anything) runs first and is compressed too."""

    @app.after_request
    def sign_page(response):  # type: ignore[no-untyped-def]
        if response.mimetype == "text/html":
            response.set_data(response.get_data() + b"<!-- signed by a later hook -->")
        return response

    zipped = client.get("/", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()).endswith(b"<!-- signed by a later hook -->")
    # Flask runs after_request hooks last registered first: compression was registered first.
    assert app.after_request_funcs[None][0] is compress_response


# -- streamed responses stay streamed ------------------------------------------------------------


def test_the_admin_shipments_csv_is_still_streamed_for_a_browser_that_accepts_gzip(
    app: Flask,
) -> None:
    month = "2026-12"
    many_shipments(make_plan(make_box("musclebox", "MuscleBox", position=1)), month, 2500)
    make_admin("packer@musclebox.test", "a long enough packing password")
    # A client that leaves the body unread until the test reads it, as a slow download would.
    browser = FlaskClient(app, app.response_class, use_cookies=True)
    signed_in = browser.post(
        "/admin/login",
        data={
            "email": "packer@musclebox.test",
            "password": "a long enough packing password",
            "csrf_token": csrf_token(browser, "/admin/login"),
        },
    )
    assert signed_in.status_code in (302, 303)

    selects: list[str] = []

    def count_selects(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "shipments" in statement:
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_selects)
    try:
        response = browser.get(f"/admin/shipments.csv?month={month}", headers=BROWSER)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers
        assert "Content-Length" not in response.headers
        chunks = iter(response.response)
        first = [next(chunks), next(chunks)]  # the byte-order mark and the header line
        read_before_any_row = len(selects)
        rest = list(chunks)
    finally:
        response.close()
        event.remove(db.engine, "before_cursor_execute", count_selects)
    body = b"".join(first + rest).decode("utf-8")
    assert body.count("\r\n") == 2501
    assert len(rest) >= 3  # the rows came in batches
    assert read_before_any_row < len(selects)  # not one row was read before the header was sent
