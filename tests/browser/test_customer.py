"""Journeys 3, 4 and 5: a customer buys a prepaid term, moves house and cancels; a card is
declined; a monthly customer skips a box and changes their mind."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.people import (
    DECLINED_CARD,
    fill_checkout,
    sign_in_admin,
    sign_in_customer,
    start_checkout,
    subscribe,
)
from tests.browser.servers import ShopServers


def test_a_customer_prepays_three_months_moves_house_and_cancels(
    shop: ShopServers, phone: Page
) -> None:
    email = "sam.three@example.com"
    subscribe(phone, shop, email, "Protein MuscleBox", "every 3 months")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Protein MuscleBox")
    expect(phone.locator("main")).to_contain_text("You've paid for 3 boxes")
    expect(phone.locator("main")).to_contain_text("12 Example Street")

    sign_in_customer(phone, shop, email)
    boxes = phone.locator("main").get_by_text(re.compile(r"Box \d of 3"))
    expect(boxes).to_have_count(3)
    address = phone.locator("main").get_by_role("region", name="Shipping address")
    expect(address).to_contain_text("12 Example Street")
    expect(address).to_contain_text("Australia")

    address.get_by_role("link", name=re.compile("change address", re.I)).click()
    phone.get_by_label("Street address").fill("7 New Home Road")
    phone.get_by_label("Suburb or town").fill("Fitzroy")
    phone.get_by_label("State or territory").select_option("VIC")
    phone.get_by_label("Postcode").fill("3065")
    phone.get_by_role("button", name=re.compile("save", re.I)).click()
    expect(phone.get_by_role("status")).to_contain_text("Your address is updated")
    address = phone.locator("main").get_by_role("region", name="Shipping address")
    expect(address).to_contain_text("7 New Home Road")
    expect(address).to_contain_text("Fitzroy VIC 3065")

    subscription = phone.locator(".account-sub").filter(has_text="Protein MuscleBox")
    renews = re.search(r"renews (\d+ \w+ \d{4})", subscription.inner_text())
    assert renews, subscription.inner_text()
    phone.get_by_role("button", name=re.compile("manage billing", re.I)).first.click()
    expect(phone).to_have_url(re.compile(rf"^{re.escape(shop.emulator_url)}/"))
    phone.get_by_role("button", name="Cancel at end of period").click()
    phone.get_by_role("link", name=re.compile("Return to")).click()
    expect(phone).to_have_url(re.compile(r"/account/"))
    subscription = phone.locator(".account-sub").filter(has_text="Protein MuscleBox")
    # The webhook reaches the shop through the job worker a moment after the portal's answer.
    for _ in range(30):
        if "Cancels on" in subscription.inner_text():
            break
        phone.wait_for_timeout(300)
        phone.reload()
    expect(subscription).to_contain_text(f"Cancels on {renews[1]}")


def test_a_declined_card_says_what_to_do_and_creates_nothing(
    shop: ShopServers, phone: Page, open_window
) -> None:
    email = "declined.dana@example.com"
    start_checkout(phone, shop, "Miss MuscleBox", "monthly")
    fill_checkout(phone, email, DECLINED_CARD)
    phone.get_by_role("button", name=re.compile(r"^(Subscribe|Pay)")).click()
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("declined")
    expect(alert).to_contain_text(re.compile(r"not been charged|another card", re.I))
    expect(phone.get_by_label("Card number")).to_be_focused()

    admin = open_window()
    sign_in_admin(admin, shop)
    for listing in ("subscriptions", "customers"):
        admin.goto(f"{shop.url}/admin/{listing}?q={email}")
        expect(admin.locator("main")).to_contain_text(f"No {listing} match")
        expect(admin.locator("main tr", has_text=email)).to_have_count(0)
    admin.goto(f"{shop.url}/dev/outbox")
    expect(admin.locator("main")).not_to_contain_text(email)


def test_a_monthly_customer_skips_next_months_box_then_undoes_it(
    shop: ShopServers, phone: Page
) -> None:
    email = "max.monthly@example.com"
    subscribe(phone, shop, email, "MuscleBox", "monthly")
    sign_in_customer(phone, shop, email)
    phone.get_by_role("button", name="Skip next month's box").click()
    status = phone.locator(".account-skip-status")
    expect(status).to_contain_text(re.compile("skip", re.I))
    phone.get_by_role("button", name=re.compile("undo|don't skip|ship it", re.I)).click()
    expect(phone.locator(".account-skip-status")).to_have_count(0)
    expect(phone.get_by_role("button", name="Skip next month's box")).to_be_visible()
