"""Screenshots of the main pages at a phone's (390 x 844) and a desktop's (1366 x 900) size, saved on
every run under `browser-artifacts/screenshots/` for a person to look at after a change."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.browser.people import (
    PAYING_CARD,
    fill_checkout,
    sign_in_admin,
    sign_in_customer,
    start_checkout,
)
from tests.browser.servers import ShopServers


def shoot(page: Page, folder: str, name: str) -> None:
    path = ARTIFACTS / "screenshots" / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 5_000, f"{path} is nearly empty"


@pytest.mark.parametrize(
    "size", [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
)
def test_main_pages(shop: ShopServers, open_window, size: dict[str, int]) -> None:
    folder = f"{size['width']}x{size['height']}"
    page = open_window(size)
    for name, path in (
        ("home", "/"),
        ("boxes", "/boxes/"),
        ("box", "/boxes/protein-musclebox"),
        ("blog", "/blog/"),
        ("article", shop.article_path),
    ):
        response = page.goto(shop.url + path)
        assert response is not None and response.status == 200, path
        shoot(page, folder, name)

    email = f"shots.{size['width']}@example.com"
    start_checkout(page, shop, "Protein MuscleBox", "every 3 months")
    shoot(page, folder, "checkout")
    fill_checkout(page, email, PAYING_CARD)
    page.get_by_role("button", name=re.compile(r"^(Subscribe|Pay)")).click()
    expect(page).to_have_url(re.compile(r"/checkout/success"))
    shoot(page, folder, "success")
    sign_in_customer(page, shop, email)
    shoot(page, folder, "account")

    admin = open_window(size)
    sign_in_admin(admin, shop)
    for name, path in (
        ("admin-dashboard", "/admin/"),
        ("admin-shipments", "/admin/shipments"),
        ("admin-comments", "/admin/comments"),
        ("admin-subscriptions", "/admin/subscriptions"),
    ):
        response = admin.goto(shop.url + path)
        assert response is not None and response.status == 200, path
        shoot(admin, folder, name)
