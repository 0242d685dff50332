"""A commenter's email never appears in any public response, in any form."""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urljoin, urlsplit

from shop.comments.models import CommentStatus
from shop.demo import seed_demo
from tests.builders.content import make_article, make_comment
from tests.helpers import post_comment

SECRET_EMAILS = [f"private.reader{n}@example.com" for n in range(8)]


def _forms_of(email: str) -> list[str]:
    """The email as text, and every encoding a careless site might leak it in."""
    lowered = email.lower().encode()
    return [
        email,
        email.replace("@", "&#64;"),
        email.replace("@", "%40"),
        hashlib.md5(lowered).hexdigest(),  # noqa: S324  (Gravatar's hash)
        hashlib.sha256(lowered).hexdigest(),
        email.split("@")[0],
    ]


def _crawl(client, start_paths):  # type: ignore[no-untyped-def]
    """Follow every same-site link from the start pages, like a search engine would."""
    seen: dict[str, str] = {}
    queue = list(start_paths)
    while queue and len(seen) < 400:
        path = queue.pop()
        if path in seen:
            continue
        response = client.get(path)
        body = response.get_data(as_text=True)
        seen[path] = "\n".join([body, *(f"{k}: {v}" for k, v in response.headers.items())])
        if response.mimetype not in ("text/html", "application/xml", "application/atom+xml"):
            continue
        for href in re.findall(r'(?:href|src)="([^"#]+)', body) + re.findall(
            r"<loc>([^<]+)</loc>", body
        ):
            parts = urlsplit(urljoin("http://shop.test" + path, href.replace("&amp;", "&")))
            if parts.netloc == "shop.test" and not parts.path.startswith("/static/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def test_no_public_page_feed_or_sitemap_reveals_a_commenter_email(app, client):
    seed_demo()
    article = make_article("busy-article", title="Busy Article", tags=["busy"])
    for n, email in enumerate(SECRET_EMAILS):
        parent = make_comment(
            article, email=email, name=f"Reader {n}", url="https://reader.example"
        )
        make_comment(article, email=email, body=f"reply {n}", parent=parent)
    for status in (CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.TRASH):
        make_comment(article, email=SECRET_EMAILS[0], status=status, body=f"{status} one")
    # One of the visitor's own held comments, too: shown to them, still without the email.
    post_comment(client, "busy-article", email="own.held@example.com", comment="held one")

    pages = _crawl(
        client, ["/", "/blog/", "/feed.xml", "/sitemap.xml", "/healthz", "/no-such-page"]
    )
    assert "/blog/busy-article" in pages and "/blog/tag/busy" in pages and "/feed.xml" in pages
    assert len(pages) > 10
    for email in [*SECRET_EMAILS, "own.held@example.com", "tom.nguyen@example.com"]:
        for form in _forms_of(email):
            leaks = [path for path, body in pages.items() if form in body]
            assert not leaks, f"{form!r} (from {email}) appears on {leaks}"


def test_error_responses_do_not_echo_the_email(app, client):
    make_article("lift")
    response = post_comment(client, "lift", email="private.reader@example.com", comment="")
    assert response.status_code == 400  # the visitor's own form, re-rendered for them only
    stranger = app.test_client()
    for path in ("/blog/lift", "/blog/lift?replyto=999", "/blog/lift?page=9"):
        assert "private.reader" not in stranger.get(path).get_data(as_text=True)


def test_commenter_email_is_not_written_to_logs(app, client, caplog):
    make_article("lift")
    caplog.set_level(logging.DEBUG)
    post_comment(client, "lift", email="logged.reader@example.com", comment="Hello")
    post_comment(client, "lift", email="logged.reader@example.com", comment="Hello")  # 409
    post_comment(client, "lift", email="logged.reader@example.com", comment="")  # 400
    assert "logged.reader" not in caplog.text


def test_held_comment_page_for_its_author_has_no_email_either(client):
    make_article("lift")
    post_comment(client, "lift", email="own@example.com", comment="mine")
    page = client.get("/blog/lift").get_data(as_text=True)
    assert "mine" in page and "own@example.com" not in page
