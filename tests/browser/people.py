"""What the journeys' people do more than once, done as they do it: through the pages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.servers import ADMIN_EMAIL, ADMIN_PASSWORD, ShopServers

PAYING_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
ADDRESS = {
    "Full name": "Sam Taylor",
    "Address line 1": "12 Example Street",
    "City or suburb": "Newtown",
    "Postcode": "2042",
}


def sign_in_admin(page: Page, shop: ShopServers) -> None:
    page.goto(f"{shop.url}/admin/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/admin/?$"))


def fill_checkout(page: Page, email: str, card: str, state: str = "NSW") -> None:
    """The emulator's hosted checkout, filled as a customer in Australia would."""
    page.get_by_label("Email").fill(email)
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("State (optional)").fill(state)
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill(ADDRESS["Full name"])


def start_checkout(page: Page, shop: ShopServers, box: str, term: str) -> None:
    """From the home page to the box's page, then Subscribe on the term (`monthly`, `every 3 months`)."""
    page.goto(f"{shop.url}/")
    page.locator("main").get_by_role(
        "link", name=re.compile(rf"^{re.escape(box)}(\s|$)")
    ).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(box)
    page.get_by_role("button", name=f"Subscribe to {box}, {term}").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.emulator_url)}/"))


def subscribe(page: Page, shop: ShopServers, email: str, box: str, term: str) -> None:
    """A whole purchase with the paying card, ending on the shop's success page."""
    start_checkout(page, shop, box, term)
    fill_checkout(page, email, PAYING_CARD)
    page.get_by_role("button", name=re.compile(r"^(Subscribe|Pay)")).click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.url)}/checkout/success"))


def open_latest_email(page: Page, shop: ShopServers, to: str, subject: str) -> None:
    """The newest email to `to` whose subject holds `subject`, opened in the development outbox."""
    page.goto(f"{shop.url}/dev/outbox")
    item = page.locator(".outbox-list li", has_text=to).filter(has_text=subject).first
    expect(item).to_be_visible()
    item.get_by_role("link").click()


def sign_in_customer(page: Page, shop: ShopServers, email: str) -> None:
    """Ask for a link, follow it from the outbox, confirm: the account page."""
    page.goto(f"{shop.url}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name=re.compile("link", re.I)).click()
    expect(page).to_have_url(re.compile(r"/account/login/check-email"))
    for _ in range(50):  # the email is sent by the job worker, a moment later
        page.goto(f"{shop.url}/dev/outbox")
        if page.locator(".outbox-list li", has_text=email).filter(has_text="sign-in link").count():
            break
        page.wait_for_timeout(200)
    open_latest_email(page, shop, email, "sign-in link")
    link = page.locator(f"a[href^='{shop.url}/account/login/']").first
    page.goto(link.get_attribute("href") or "")
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/account/?$"))
