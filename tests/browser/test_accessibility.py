"""Every page a person meets, checked in the browser at a phone's and a desktop's size: axe-core
finds no serious or critical violation, ids are unique, and on a phone nothing scrolls sideways
and every control is at least 44 px; forms work from the keyboard alone with a visible focus."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.checks import focus_is_visible, horizontal_overflow, page_problems
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.people import (
    PAYING_CARD,
    fill_checkout,
    sign_in_admin,
    sign_in_customer,
    start_checkout,
    subscribe,
)
from tests.browser.servers import ShopServers

PUBLIC_PAGES = ["/", "/boxes/", "/boxes/protein-musclebox", "/blog/", "ARTICLE", "/account/login"]
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def check(page: Page, what: str, *, phone: bool) -> list[str]:
    return [f"{what} ({page.url}): {problem}" for problem in page_problems(page, phone=phone)]


@pytest.mark.parametrize("size", SIZES)
def test_public_pages(shop: ShopServers, open_window, size: dict[str, int]) -> None:
    page = open_window(size)
    problems: list[str] = []
    for path in PUBLIC_PAGES:
        page.goto(shop.url + (shop.article_path if path == "ARTICLE" else path))
        problems += check(page, path, phone=size is PHONE)
    assert not problems, "\n".join(problems)


def test_public_pages_with_large_text_on_a_phone(shop: ShopServers, phone: Page) -> None:
    """A reader who set their browser's text to 150 % still has nothing off the side of the screen."""
    problems: list[str] = []
    for path in PUBLIC_PAGES:
        phone.goto(shop.url + (shop.article_path if path == "ARTICLE" else path))
        phone.evaluate("() => { document.documentElement.style.fontSize = '150%'; }")
        problems += [f"{path}: {problem}" for problem in horizontal_overflow(phone)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES)
def test_checkout_success_and_account_pages(
    shop: ShopServers, open_window, size: dict[str, int]
) -> None:
    page = open_window(size)
    phone = size is PHONE
    email = f"axe.{size['width']}@example.com"
    start_checkout(page, shop, "MuscleBox", "every 6 months")
    problems = check(page, "checkout", phone=phone)
    fill_checkout(page, email, PAYING_CARD)
    page.get_by_role("button", name=re.compile(r"^(Subscribe|Pay)")).click()
    expect(page).to_have_url(re.compile(r"/checkout/success"))
    problems += check(page, "success", phone=phone)
    sign_in_customer(page, shop, email)
    problems += check(page, "account", phone=phone)
    page.goto(f"{shop.url}/account/address")
    problems += check(page, "address", phone=phone)
    page.goto(f"{shop.url}/account/")
    page.get_by_role("button", name=re.compile("manage billing", re.I)).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage your subscription")
    problems += check(page, "billing portal", phone=phone)
    assert not problems, "\n".join(problems)


def test_pages_beside_the_journeys_on_a_phone(shop: ShopServers, phone: Page) -> None:
    """Error pages, the development outbox, filtered admin lists and the emulator's dashboard."""
    problems: list[str] = []
    phone.goto(f"{shop.url}/no-such-page")
    problems += check(phone, "404", phone=True)
    phone.goto(f"{shop.url}/dev/outbox")
    problems += check(phone, "outbox", phone=True)
    phone.locator(".outbox-subject").first.click()
    problems += check(phone, "an email", phone=True)
    phone.goto(f"{shop.emulator_url}/_emulator/")
    problems += check(phone, "emulator dashboard", phone=True)
    sign_in_admin(phone, shop)
    for path in ("/admin/subscriptions?q=nobody", "/admin/customers?q=nobody"):
        phone.goto(shop.url + path)
        problems += check(phone, path, phone=True)
    assert not problems, "\n".join(problems)


def admin_pages(page: Page, shop: ShopServers) -> list[str]:
    """The admin bar's sections, then one of each detail and form page linked from them."""
    sections = page.evaluate(
        """() => Array.from(document.querySelectorAll('nav[aria-label*="dmin"] a[href^="/admin"]'))
              .map(a => a.getAttribute('href'))"""
    )
    details = []
    for listing, pattern in (
        ("/admin/subscriptions", r"^/admin/subscriptions/\d+$"),
        ("/admin/customers", r"^/admin/customers/\d+$"),
        ("/admin/events?status=all", r"^/admin/events/[^/?]+$"),
        ("/admin/articles", r"^/admin/articles/\d+/(edit|delete)$"),
        ("/admin/authors", r"^/admin/authors/(new|\d+/(edit|delete))$"),
        ("/admin/comments", r"^/admin/comments/\d+/(edit|reply)\b"),
        ("/admin/promotions", r"^/admin/promotions/new$"),
    ):
        page.goto(shop.url + listing)
        hrefs = page.evaluate(
            "() => Array.from(document.querySelectorAll('main a[href]')).map(a => a.getAttribute('href'))"
        )
        found = {}
        for href in hrefs:
            match = re.match(pattern, href)
            if match:
                found.setdefault(match.group(1) if match.groups() else href, href)
        assert found, f"no link like {pattern} on {listing}"
        details += found.values()
    return list(dict.fromkeys([*sections, "/admin/articles/new", *details]))


@pytest.mark.parametrize("size", SIZES)
def test_every_admin_page(shop: ShopServers, open_window, size: dict[str, int]) -> None:
    page = open_window(size)
    sign_in_admin(page, shop)
    pages = admin_pages(page, shop)
    assert len(pages) >= 20, pages
    problems: list[str] = []
    for path in pages:
        page.goto(shop.url + path)
        problems += check(page, path, phone=size is PHONE)
    assert not problems, "\n".join(problems)


def tab_to(page: Page, selector: str, limit: int = 80) -> list[str]:
    """Press Tab until `selector` has the focus; every stop on the way must show where it is."""
    unseen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("() => document.activeElement.outerHTML.slice(0, 90)")
        # On <body> nothing has the focus: Tab has left the page for the browser's own bar.
        if not here.startswith("<body") and not focus_is_visible(page):
            unseen.append(here)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return unseen
    raise AssertionError(f"{selector} was not reached in {limit} presses of Tab")


def test_a_comment_written_and_posted_with_the_keyboard_alone(
    shop: ShopServers, phone: Page
) -> None:
    phone.goto(shop.url + shop.article_path)
    unseen = tab_to(phone, "#comment")
    phone.keyboard.type("Posted without a mouse.")
    for selector, text in (
        ("#author", "Kim Lee"),
        ("#email", "kim.keys@example.com"),
        ("#url", ""),
    ):
        unseen += tab_to(phone, selector, limit=3)
        if text:
            phone.keyboard.type(text)
    phone.wait_for_timeout(3_200)  # COMMENT_MIN_SECONDS: a person takes longer than this anyway
    unseen += tab_to(phone, "button[type=submit]", limit=5)
    phone.keyboard.press("Enter")
    expect(phone.locator(".comment", has_text="Posted without a mouse.")).to_contain_text(
        "awaiting moderation"
    )
    assert not unseen, "focus not visible on:\n" + "\n".join(unseen)


def test_signing_in_and_moving_house_with_the_keyboard_alone(
    shop: ShopServers, phone: Page, open_window
) -> None:
    email = "kai.keys@example.com"
    buyer = open_window()
    subscribe(buyer, shop, email, "Protein MuscleBox", "monthly")
    phone.goto(f"{shop.url}/account/login")
    unseen = tab_to(phone, "input[type=email]")
    phone.keyboard.type(email)
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/account/login/check-email"))
    sign_in_customer(phone, shop, email)
    unseen += tab_to(phone, "a[href$='/account/address']", limit=120)
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/account/address"))
    unseen += tab_to(phone, "#line1")
    phone.keyboard.press("Control+A")
    phone.keyboard.type("99 Keyboard Lane")
    unseen += tab_to(phone, "button[type=submit]", limit=12)
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("status")).to_contain_text("99 Keyboard Lane")
    assert not unseen, "focus not visible on:\n" + "\n".join(unseen)


def test_the_admin_signs_in_and_approves_with_the_keyboard_alone(
    shop: ShopServers, desktop: Page
) -> None:
    desktop.goto(f"{shop.url}/admin/login")
    unseen = tab_to(desktop, "input[type=email]")
    desktop.keyboard.type("owner@example.com")
    unseen += tab_to(desktop, "input[type=password]", limit=3)
    desktop.keyboard.type("correct horse battery staple")
    desktop.keyboard.press("Enter")
    expect(desktop).to_have_url(re.compile(r"/admin/?$"))
    unseen += tab_to(desktop, "a[href^='/admin/comments']")
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Comments")
    unseen += tab_to(desktop, "main button[name=action][value=approve]", limit=120)
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_role("status")).to_contain_text("1 comment approved.")
    assert not unseen, "focus not visible on:\n" + "\n".join(unseen)
