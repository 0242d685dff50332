"""Fixtures for the browser journeys: Debian's Chromium (no browser download), one running shop
per session, phone and desktop windows, and what a failing test leaves behind to look at.

On a failure every page the test opened is saved as a screenshot and its HTML under
`browser-artifacts/failures/<test>/`; `test_screenshots.py` saves the main pages at phone and
desktop size under `browser-artifacts/screenshots/` on every run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from shop import PROJECT_ROOT
from tests.browser.servers import ShopServers

ARTIFACTS = PROJECT_ROOT / "browser-artifacts"
CLIENT_ARTICLE = (
    PROJECT_ROOT.parent / "shared" / "content" / "back-pain-isnt-the-end-of-your-training.md"
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
TIMEOUT_MS = 15_000


def chromium_path() -> str:
    """Debian's Chromium (`apt-get install chromium`; `make test` installs it), or CHROMIUM."""
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        pytest.fail(
            "The browser journeys need Chromium: `apt-get install chromium` "
            "(`make test` does it), or set CHROMIUM to a Chromium binary."
        )
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Chromium's sandbox cannot start as root (CI machines run as root).
    no_sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": [*browser_type_launch_args.get("args", []), *no_sandbox],
    }


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopServers]:
    """The shop, its job worker and the Stripe emulator, on free ports with a fresh database."""
    servers = ShopServers(tmp_path_factory.mktemp("browser-shop"))
    servers.prepare(CLIENT_ARTICLE if CLIENT_ARTICLE.exists() else None)
    servers.start()
    yield servers
    servers.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _save_failure(name: str, pages: list[Page]) -> None:
    folder = ARTIFACTS / "failures" / re.sub(r"[^\w.-]+", "_", name)
    folder.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(pages, start=1):
        if page.is_closed():
            continue
        try:
            page.screenshot(path=folder / f"page-{number}.png", full_page=True)
            (folder / f"page-{number}.html").write_text(page.content())
            (folder / f"page-{number}.url").write_text(page.url + "\n")
        except Exception as exc:
            (folder / f"page-{number}.error").write_text(repr(exc))


@pytest.fixture
def open_window(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Opens a new browser (its own cookies) at a size; `open_window(PHONE)` → a page."""
    contexts: list[BrowserContext] = []

    def open_(viewport: dict[str, int] = PHONE) -> Page:
        context = browser.new_context(
            viewport=viewport, locale="en-AU", timezone_id="Australia/Sydney"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _save_failure(request.node.nodeid, [page for c in contexts for page in c.pages])
    for context in contexts:
        context.close()


@pytest.fixture
def phone(open_window: Callable[..., Page]) -> Page:
    return open_window(PHONE)


@pytest.fixture
def desktop(open_window: Callable[..., Page]) -> Page:
    return open_window(DESKTOP)
