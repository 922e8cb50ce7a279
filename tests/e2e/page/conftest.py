"""Chromium for the page's tests: a fresh browser per test and a page that records its
console errors and the orders it created.

Needs a Chromium at CHROMIUM_PATH (default /usr/bin/chromium). ``make test`` sets it: it
finds one on PATH or in Playwright's cache, or installs Debian's ``chromium`` where it may
(launcher/browser.py). A missing browser fails these tests, locally as under CI: they are
never skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}
CONFIRM_TIMEOUT_MS = 30_000
STATUSES = ["pending", "routing", "building", "submitted", "confirmed"]
DURATION = re.compile(r"^\d{1,3}(,\d{3})* ms$")
NUMBER = re.compile(r"^\d+$")


@dataclass
class PageUnderTest:
    page: Page
    problems: list[str] = field(default_factory=list)
    created: list[Response] = field(default_factory=list)

    def open(self, base_url: str) -> None:
        self.page.goto(base_url + "/")
        expect(self.page.locator("#connection")).to_have_text("live", timeout=15_000)

    def card(self, order_id: str):
        return self.page.locator(f'.order[data-order-id="{order_id}"]')

    def created_ids(self) -> list[str]:
        return [response.json()["orderId"] for response in self.created]


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """Autouse and session-scoped so a missing browser fails before the engine starts.

    Fails rather than skips: a skipped browser test reads as a green run.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run the tests with `make test` (it finds or "
            "installs one), `apt-get install chromium`, or set CHROMIUM_PATH"
        )
    return CHROMIUM


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    # Function-scoped on purpose: Playwright's sync API keeps an asyncio loop running
    # while it is started, and Django refuses database work (the test database flush
    # at teardown) inside a running loop. A fresh Chromium per test costs about a second.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def ui(browser: Browser) -> Iterator[PageUnderTest]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    under_test = PageUnderTest(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            under_test.problems.append(f"console: {message.text} ({where})")

    def on_response(response: Response) -> None:
        request = response.request
        is_submit = request.method == "POST" and request.url.endswith("/api/orders/execute")
        if is_submit and response.status == 201:
            under_test.created.append(response)

    page.on("console", on_console)
    page.on("pageerror", lambda error: under_test.problems.append(f"page error: {error}"))
    page.on("response", on_response)
    try:
        yield under_test
    finally:
        context.close()
