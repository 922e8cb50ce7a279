"""The live page at / in a real browser: Chromium driven by Playwright against the real
daphne + Celery worker of ``live_engine``.

Needs a Chromium at CHROMIUM_PATH (default /usr/bin/chromium). ``make test`` sets it: it
finds one on PATH or in Playwright's cache, or installs Debian's ``chromium`` where it may
(launcher/browser.py). A missing browser fails these tests, locally as under CI: they are
never skipped.
``SAVE_SCREENSHOT=docs/screenshot.png`` also writes the page's screenshot there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.page.conftest import (
    CONFIRM_TIMEOUT_MS,
    DURATION,
    NUMBER,
    ROOT,
    STATUSES,
    PageUnderTest,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def assert_complete_card(ui: PageUnderTest, live_engine, order_id: str) -> None:
    """A confirmed card shows the whole story and agrees with the API."""
    card = ui.card(order_id)
    expect(card).to_have_attribute("data-status", "confirmed", timeout=CONFIRM_TIMEOUT_MS)
    expect(card).to_have_count(1)
    status, order = live_engine.request("GET", f"/api/orders/{order_id}")
    assert status == 200 and order["status"] == "confirmed", order

    steps = card.locator(".step[data-status]")
    expect(steps).to_have_count(len(order["events"]))
    assert steps.evaluate_all("s => s.map(e => e.dataset.status)") == [
        event["status"] for event in order["events"]
    ]
    statuses = [event["status"] for event in order["events"]]
    assert statuses[0] == "pending" and statuses[-1] == "confirmed", statuses
    assert set(STATUSES) <= set(statuses), statuses  # retries add routing/building/submitted
    for step in steps.all()[:-1]:  # every status but the last: the time spent in it
        assert DURATION.match(step.locator(".dur").inner_text().strip())
        assert re.match(r"^\d\d:\d\d:\d\d\.\d{3}$", step.locator(".at").inner_text().strip())

    expect(card.locator('.quote[data-dex="raydium"]')).to_have_count(1)
    expect(card.locator('.quote[data-dex="meteora"]')).to_have_count(1)
    winner = card.locator(".quote.winner")
    expect(winner).to_have_count(1)
    expect(winner).to_have_attribute("data-dex", order["dex"])
    expect(winner.locator(".q-diff")).to_have_text(re.compile(r"^[+±]\S+ · [+±][\d.]+%$"))
    expect(card.locator(".route-path")).to_have_text("wSOL → USDC")
    expect(card.locator(".route-note")).to_contain_text("wSOL")

    tx = card.locator(".tx-hash")
    expect(tx).to_have_count(1)
    expect(tx).to_have_attribute("title", order["txHash"])
    text = tx.inner_text().strip()
    assert text and len(text) < len(order["txHash"]), text
    assert order["txHash"].startswith(text.split("…")[0])


def counter_values(page: Page) -> dict[str, str]:
    return {
        name: page.locator(f"#count-{name}").inner_text().strip()
        for name in ("executing", "queued", "confirmed", "failed")
    }


def test_submit_five_shows_five_confirmed_timelines(live_engine, ui: PageUnderTest, tmp_path):
    page = ui.page
    ui.open(live_engine.base_url)
    expect(page.locator("#token-in")).to_have_value("SOL")
    expect(page.locator("#token-out")).to_have_value("USDC")
    expect(page.locator("#amount")).to_have_value("1.5")
    expect(page.locator("#slippage")).to_have_value("50")

    page.locator("#submit-five").click()
    expect(page.locator("#form-status")).to_contain_text("5 orders accepted")
    order_ids = ui.created_ids()
    assert len(set(order_ids)) == 5, order_ids

    for order_id in order_ids:
        assert_complete_card(ui, live_engine, order_id)
    mine = page.locator(".order.mine[data-status=confirmed]")
    expect(mine).to_have_count(5)

    # Counters are numbers, and the five confirmations of the last minute are counted.
    page.wait_for_function(
        "Number(document.getElementById('count-confirmed').textContent) >= 5",
        timeout=10_000,
    )
    values = counter_values(page)
    assert all(NUMBER.match(value) for value in values.values()), values

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("SAVE_SCREENSHOT"):
        path = Path(target) if Path(target).is_absolute() else ROOT / target
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)

    assert ui.problems == []


def test_orders_from_other_clients_appear_live(live_engine, ui: PageUnderTest):
    ui.open(live_engine.base_url)
    status, body = live_engine.request(
        "POST",
        "/api/orders/execute",
        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.25", "slippageBps": 100},
    )
    assert status == 201, body
    card = ui.card(body["orderId"])
    expect(card).to_have_count(1)
    expect(card).not_to_have_class(re.compile(r"\bmine\b"))
    assert_complete_card(ui, live_engine, body["orderId"])
    assert ui.problems == []


def test_reconnects_by_itself_after_a_dropped_connection(live_engine, ui: PageUnderTest):
    page = ui.page
    ui.open(live_engine.base_url)
    shown = page.evaluate(
        "window.engineDebug.dropConnection(), document.getElementById('connection').textContent"
    )
    assert shown.startswith("reconnecting"), shown
    expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
    assert ui.problems == []


def test_backfills_what_it_missed_while_disconnected(live_engine, ui: PageUnderTest):
    page = ui.page
    ui.open(live_engine.base_url)
    page.evaluate("window.engineDebug.dropConnection({hold: true})")
    expect(page.locator("#connection")).to_have_text("offline")

    status, body = live_engine.request(
        "POST",
        "/api/orders/execute",
        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5", "slippageBps": 100},
    )
    assert status == 201, body
    order_id = body["orderId"]
    assert live_engine.wait_terminal(order_id)["status"] == "confirmed"
    # Its whole life happened while the page was deaf.
    expect(ui.card(order_id)).to_have_count(0)

    page.evaluate("window.engineDebug.reconnect()")
    expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
    assert_complete_card(ui, live_engine, order_id)
    assert ui.problems == []


def test_a_lost_stream_event_is_fetched_again(live_engine, ui: PageUnderTest):
    page = ui.page
    ui.open(live_engine.base_url)
    # The stream loses every `submitted` event: `confirmed` then arrives after a gap in
    # seq, and the page must fetch the order to fill it.
    page.evaluate("window.engineDebug.dropEvents(['submitted'])")
    page.locator("#submit-one").click()
    expect(page.locator("#form-status")).to_contain_text("1 order accepted")
    (order_id,) = ui.created_ids()
    assert_complete_card(ui, live_engine, order_id)
    expect(ui.card(order_id).locator('.step[data-status="submitted"]')).to_have_count(1)
    assert ui.problems == []


def test_invalid_orders_show_errors_next_to_the_form(live_engine, ui: PageUnderTest):
    page = ui.page
    ui.open(live_engine.base_url)
    page.locator("#amount").fill("0")
    page.locator("#slippage").fill("0")
    page.locator("#submit-one").click()
    expect(page.locator('.field-error[data-error-for="amount"]')).not_to_be_empty()
    expect(page.locator('.field-error[data-error-for="slippageBps"]')).not_to_be_empty()
    assert ui.created == []

    page.locator("#token-in").select_option("BONK")
    page.locator("#token-out").select_option("NOVA")
    page.locator("#amount").fill("1000")
    page.locator("#slippage").fill("50")
    page.locator("#submit-one").click()
    expect(page.locator("#form-errors")).to_contain_text("pool")
    assert ui.created == []
    # The browser reports the 400 answers on its console; nothing else may be there.
    assert all("status of 400" in problem for problem in ui.problems), ui.problems
