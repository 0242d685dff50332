"""Journeys 6 and 7: the owner sees a new subscriber, runs the shipping month, exports the
packing list and ships a box the customer then sees; the admin on a phone reaches everything."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from tests.browser.checks import horizontal_overflow, small_tap_targets
from tests.browser.people import sign_in_admin, sign_in_customer, subscribe
from tests.browser.servers import ShopServers

TRACKING = "AP 1234 5678 9AU"


def test_the_owner_runs_the_month_and_ships_a_new_subscribers_box(
    shop: ShopServers, desktop: Page, open_window
) -> None:
    customer = open_window()
    email = "olivia.owner-journey@example.com"
    subscribe(customer, shop, email, "Miss MuscleBox", "monthly")

    sign_in_admin(desktop, shop)
    desktop.locator("[data-figure=new-this-month]").click()
    expect(desktop.locator("main")).to_contain_text(email)

    desktop.get_by_role("navigation", name=re.compile("admin", re.I)).get_by_role(
        "link", name=re.compile("^Shipments")
    ).click()
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Shipments")
    # Paid today, the first box ships this month or, after the cut-off day, next month.
    if email not in desktop.locator("main").inner_text():
        desktop.locator("main nav[aria-label=Months] a[rel=next]").click()
    expect(desktop.locator("main")).to_contain_text(email)
    desktop.locator("main").get_by_role("button", name=re.compile(r"^Run\b")).first.click()
    expect(desktop.get_by_role("heading", name=re.compile("What to pack"))).to_be_visible()

    with desktop.expect_download() as download:
        desktop.get_by_role("link", name=re.compile("packing list", re.I)).click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    ours = [
        row
        for row in rows
        if "12 Example Street" in " ".join(row.values()) and "Sam Taylor" in " ".join(row.values())
    ]
    assert ours, rows[:3]
    assert any("Miss MuscleBox" in " ".join(row.values()) for row in ours)

    line = desktop.locator("tr", has_text=email).first
    line.get_by_role("checkbox").check()
    desktop.get_by_label("Carrier").select_option("Australia Post")
    desktop.get_by_label("Tracking number").fill(TRACKING)
    desktop.locator("#mark-form").get_by_role("button", name="Mark shipped", exact=True).click()
    expect(desktop.get_by_role("status").first).to_contain_text(re.compile("shipped", re.I))
    expect(desktop.locator("tr", has_text=email).first).to_contain_text(TRACKING)

    sign_in_customer(customer, shop, email)
    box = customer.locator("main").get_by_text(re.compile("Shipped", re.I)).first
    expect(box).to_be_visible()
    expect(customer.locator("main")).to_contain_text(TRACKING)


def admin_sections(page: Page) -> list[tuple[str, str]]:
    """Every link of the admin bar, the "More" menu's included: (name, href)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('nav[aria-label*="dmin"] a[href]'))
              .map(a => [a.textContent.trim().replace(/\\s+/g, ' '), a.getAttribute('href')])"""
    )


def test_the_admin_on_a_phone_reaches_every_section_tab_and_action(
    shop: ShopServers, phone: Page
) -> None:
    sign_in_admin(phone, shop)
    sections = admin_sections(phone)
    assert len(sections) >= 8, sections
    problems: list[str] = []
    for name, href in sections:
        if href.startswith("http") and not href.startswith(shop.url):
            continue
        phone.goto(f"{shop.url}/admin/")
        more = phone.locator("details.admin-more, nav details").first
        link = phone.locator(f'nav[aria-label*="dmin"] a[href="{href}"]').first
        if not link.is_visible() and more.count():
            more.locator("summary").click()
        expect(link).to_be_visible()
        link.click()
        phone.wait_for_load_state()
        problems += [f"{name}: {p}" for p in horizontal_overflow(phone) + small_tap_targets(phone)]
        for tab in phone.locator("main nav a[href], main [role=tablist] a[href]").all():
            box = tab.bounding_box()
            if box is None or box["x"] < 0 or box["x"] + box["width"] > 390:
                problems.append(f"{name}: tab {tab.inner_text()!r} is outside the screen: {box}")
        for control in phone.locator(
            "main button, main input:not([type=hidden]), main select"
        ).all():
            if not control.is_visible():
                continue
            box = control.bounding_box()
            if box is None or box["x"] < 0 or box["x"] + box["width"] > 390:
                problems.append(
                    f"{name}: {control.evaluate('e => e.outerHTML.slice(0, 80)')} is off screen: {box}"
                )
    assert not problems, "\n".join(problems)
