"""The page with resting orders, in Chromium against real daphne, Celery and a monitor:
place a limit, watch it wait beside the price it would get now, move the market from
the page and see it trigger and fill; place another and cancel it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.page.conftest import CONFIRM_TIMEOUT_MS, PageUnderTest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def place_limit(ui: PageUnderTest, factor: str) -> str:
    page = ui.page
    page.select_option("#order-type", "limit")
    price_box = page.locator("#trigger-price")
    expect(price_box).not_to_have_value("", timeout=10_000)  # prefilled from a quote
    now = Decimal(price_box.input_value())
    assert now > 0
    price_box.fill(f"{now * Decimal(factor):.4f}")
    expect(page.locator("#slippage")).to_be_hidden()  # a limit's bound is its price
    page.select_option("#expires-in", "600")
    before = len(ui.created)
    page.click("#submit-one")
    expect(page.locator("#form-status")).to_contain_text("1 order accepted")
    assert len(ui.created) == before + 1
    return ui.created_ids()[-1]


def test_a_limit_waits_beside_its_price_then_a_market_move_fills_it(ui, live_engine, start_monitor):
    start_monitor()
    ui.open(live_engine.base_url)
    order_id = place_limit(ui, "1.02")
    card = ui.card(order_id)
    expect(card).to_have_attribute("data-status", "waiting")
    expect(card.locator(".condition-text")).to_contain_text(
        re.compile(r"^limit ≥ [\d.]+ USDC per SOL$")
    )
    expect(card.locator(".condition-live")).to_contain_text(
        re.compile(r"^now [\d.]+"), timeout=10_000
    )
    expect(card.locator(".btn-cancel")).to_have_count(1)

    ui.page.select_option("#move-symbol", "SOL")
    ui.page.click('[data-move="5"]')
    expect(ui.page.locator("#market-result")).to_contain_text("✓ SOL +5% on")
    ui.page.click('[data-move="5"]')
    expect(card).to_have_attribute("data-status", "confirmed", timeout=CONFIRM_TIMEOUT_MS)
    steps = card.locator(".step[data-status]")
    expect(steps).to_have_count(6)
    assert steps.evaluate_all("s => s.map(e => e.dataset.status)") == [
        "pending",
        "waiting",
        "routing",
        "building",
        "submitted",
        "confirmed",
    ]
    expect(card.locator(".btn-cancel")).to_have_count(0)
    assert ui.problems == []


def test_cancel_from_the_card(ui, live_engine, start_monitor):
    start_monitor()
    ui.open(live_engine.base_url)
    order_id = place_limit(ui, "3")
    card = ui.card(order_id)
    expect(card).to_have_attribute("data-status", "waiting")
    card.locator(".btn-cancel").click()
    expect(card).to_have_attribute("data-status", "cancelled")
    expect(card.locator(".step[data-status]")).to_have_count(3)
    expect(card.locator(".btn-cancel")).to_have_count(0)
    _, order = live_engine.request("GET", f"/api/orders/{order_id}")
    assert order["status"] == "cancelled"
    assert ui.problems == []
