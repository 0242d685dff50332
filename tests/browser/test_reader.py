"""Journeys 1 and 2: a reader comments on the client's article; a reader gets the form wrong."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.people import sign_in_admin
from tests.browser.servers import ShopServers

# The comment form refuses posts sent sooner than COMMENT_MIN_SECONDS (3) after it was shown:
# a person reading and typing takes longer, so the journeys wait like one.
READING_MS = 3_200


def field(page: Page, name: str) -> Locator:
    """A comment form field by its accessible name, as a screen reader announces it."""
    return page.get_by_role("textbox", name=name, exact=True)


def open_article(page: Page, shop: ShopServers) -> str:
    """Blog index → the client's article (or the newest article without it); its title."""
    page.goto(f"{shop.url}/blog/")
    page.locator(f"main a[href='{shop.article_path}']").first.click()
    title = page.get_by_role("heading", level=1).inner_text()
    expect(page.locator("#comment-form")).to_be_visible()
    return title


def test_a_reader_comments_and_sees_it_after_an_admin_approves_it(
    shop: ShopServers, phone: Page, open_window
) -> None:
    email = "reader.one@example.com"
    open_article(phone, shop)
    article_url = phone.url
    phone.wait_for_timeout(READING_MS)
    field(phone, "Comment").fill("Dead bugs every morning fixed my lower back. Thanks!")
    field(phone, "Name").fill("Priya Sharma")
    field(phone, "Email").fill(email)
    field(phone, "Website").fill("https://priya.example.com")
    phone.get_by_role("button", name=re.compile("post comment", re.I)).click()

    mine = phone.locator(".comment", has_text="Dead bugs every morning")
    expect(mine).to_be_visible()
    expect(mine).to_contain_text("Your comment is awaiting moderation.")
    expect(mine).to_be_in_viewport()
    assert email not in phone.content()

    stranger = open_window()
    stranger.goto(article_url)
    expect(stranger.get_by_role("heading", level=1)).to_be_visible()
    expect(stranger.get_by_text("Dead bugs every morning")).to_have_count(0)

    admin = open_window()
    sign_in_admin(admin, shop)
    admin.get_by_role("link", name=re.compile(r"^Comments")).first.click()
    held = admin.locator("article, li, tr", has_text="Dead bugs every morning").last
    held.get_by_role("button", name=re.compile(r"^Approve\b")).first.click()
    expect(admin.get_by_role("status")).to_contain_text("1 comment approved.")

    stranger.reload()
    approved = stranger.locator(".comment", has_text="Dead bugs every morning")
    expect(approved).to_be_visible()
    expect(approved).to_contain_text("Priya Sharma")
    phone.reload()
    expect(phone.locator(".comment", has_text="Dead bugs every morning")).not_to_contain_text(
        "awaiting moderation"
    )
    for page in (phone, stranger):
        assert email not in page.content()


def test_a_reader_with_bad_input_lands_on_the_errors_with_the_text_kept(
    shop: ShopServers, phone: Page
) -> None:
    open_article(phone, shop)
    comments_before = phone.locator(".comment").count()

    phone.get_by_role("button", name=re.compile("post comment", re.I)).click()
    summary = phone.locator("#comment-errors")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    for name in ("Comment", "Name", "Email"):
        expect(field(phone, name)).to_have_attribute("aria-invalid", "true")

    phone.wait_for_timeout(READING_MS)
    long_comment = "Squats. " * 9_000  # over the 65,525 characters a comment may have
    field(phone, "Comment").fill(long_comment)
    field(phone, "Name").fill("Sam")
    field(phone, "Email").fill("not-an-email")
    field(phone, "Website").fill("https://sam.example.com")
    # A browser would stop at maxlength; the form is checked by the server whatever sent it.
    field(phone, "Comment").evaluate(
        "(el, text) => { el.removeAttribute('maxlength'); el.value = text; }", long_comment
    )
    phone.get_by_role("button", name=re.compile("post comment", re.I)).click()

    summary = phone.locator("#comment-errors")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary.get_by_role("link")).to_have_count(2)
    for name, message in (
        ("Email", re.compile("email", re.I)),
        ("Comment", re.compile("long|characters", re.I)),
    ):
        box = field(phone, name)
        expect(box).to_have_attribute("aria-invalid", "true")
        error_id = box.get_attribute("aria-describedby") or ""
        expect(phone.locator(f"#{error_id}")).to_contain_text(message)
    expect(field(phone, "Name")).to_have_value("Sam")
    expect(field(phone, "Email")).to_have_value("not-an-email")
    expect(field(phone, "Website")).to_have_value("https://sam.example.com")
    assert field(phone, "Comment").input_value() == long_comment.strip()

    summary.get_by_role("link", name=re.compile("^Email")).click()
    expect(field(phone, "Email")).to_be_focused()

    phone.goto(phone.url.split("/comments")[0])
    expect(phone.locator(".comment")).to_have_count(comments_before)
