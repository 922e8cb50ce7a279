"""Resting orders with real processes: daphne, a Celery worker and price monitors.

The monitor is killed with SIGKILL at random moments and started again, and two run at
once: every order is triggered exactly once and ends as it should. Prices are moved with
the operators' command (`manage.py market`), in its own process, as an operator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from launcher.paths import MANAGE_PY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def market(live_engine, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE_PY), "market", *args],
        env=live_engine.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def executable_price(live_engine, amount: str = "1.5") -> Decimal:
    status, quote = live_engine.request(
        "GET", f"/api/quote?tokenIn=SOL&tokenOut=USDC&amount={amount}"
    )
    assert status == 200, quote
    return Decimal(quote["price"])


def place(live_engine, **fields: Any) -> str:
    body = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", **fields}
    status, answer = live_engine.request("POST", "/api/orders/execute", body)
    assert status == 201, answer
    return str(answer["orderId"])


def wait_for(live_engine, order_id: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, order = live_engine.request("GET", f"/api/orders/{order_id}")
        if order["status"] in statuses:
            return order
        time.sleep(0.1)
    raise AssertionError(f"order {order_id} is {order['status']}, not in {statuses}")


def test_a_limit_waits_then_fills_after_a_market_move(live_engine, start_monitor):
    start_monitor()
    price = executable_price(live_engine)
    order_id = place(live_engine, orderType="limit", limitPrice=f"{price * Decimal('1.05'):.6f}")
    time.sleep(1.0)
    assert wait_for(live_engine, order_id, {"waiting"})["status"] == "waiting"
    said = market(live_engine, "move", "SOL", "12")
    assert "SOL +12% on" in said
    moved_at = time.time()
    order = wait_for(live_engine, order_id, {"confirmed", "failed", "cancelled", "expired"})
    assert order["status"] == "confirmed", order["error"]
    statuses = [event["status"] for event in order["events"]]
    assert statuses == ["pending", "waiting", "routing", "building", "submitted", "confirmed"]
    routing = order["events"][2]
    assert Decimal(routing["details"]["triggeredBy"]["price"]) >= Decimal(order["limitPrice"])
    assert Decimal(order["amountOut"]) >= Decimal(order["minAmountOut"])
    assert Decimal(order["minAmountOut"]) >= Decimal(order["limitPrice"]) * Decimal("1.5")
    # The move takes effect 0.25 s after it is recorded; the monitor ticks every 50 ms.
    routed = datetime.fromisoformat(routing["at"].replace("Z", "+00:00")).timestamp()
    assert routed - moved_at < 3.0


def test_cancel_over_http_ends_the_wait_and_the_monitor_leaves_it(live_engine, start_monitor):
    start_monitor()
    price = executable_price(live_engine)
    order_id = place(live_engine, orderType="stop", stopPrice=f"{price * Decimal('0.5'):.6f}")
    wait_for(live_engine, order_id, {"waiting"})
    status, answer = live_engine.request("POST", f"/api/orders/{order_id}/cancel")
    assert (status, answer["status"]) == (200, "cancelled")
    market(live_engine, "move", "SOL", "-60")
    time.sleep(1.5)
    _, order = live_engine.request("GET", f"/api/orders/{order_id}")
    assert [e["status"] for e in order["events"]] == ["pending", "waiting", "cancelled"]


def test_killed_monitors_and_two_at_once_trigger_each_order_exactly_once(
    live_engine, start_monitor
):
    price = executable_price(live_engine)
    # Marketable at once: every one triggers on the first tick that sees it.
    limit = f"{price * Decimal('0.9'):.6f}"
    first = start_monitor()
    order_ids = []
    for index in range(24):
        order_ids.append(place(live_engine, orderType="limit", limitPrice=limit))
        if index == 8:
            os.killpg(first.pid, signal.SIGKILL)  # mid-way: maybe mid-trigger
            first.wait()
            start_monitor()
            start_monitor()  # and a second one, racing it
    orders = [
        wait_for(live_engine, order_id, {"confirmed", "failed", "expired", "cancelled"})
        for order_id in order_ids
    ]
    for order in orders:
        statuses = [event["status"] for event in order["events"]]
        assert statuses.count("waiting") == 1 and statuses.count("routing") == 1, statuses
        assert order["status"] == "confirmed", order["error"]
        assert [e["seq"] for e in order["events"]] == list(range(1, len(statuses) + 1))


def test_an_order_that_expired_while_no_monitor_ran_expires_when_one_starts(
    live_engine, start_monitor
):
    price = executable_price(live_engine)
    # Its condition is true the whole time, yet it must expire, not fill.
    order_id = place(
        live_engine, orderType="limit", limitPrice=f"{price * Decimal('0.5'):.6f}", expiresInS=1
    )
    time.sleep(1.5)
    _, order = live_engine.request("GET", f"/api/orders/{order_id}")
    assert order["status"] == "waiting"  # no monitor and no beat in this engine
    start_monitor()
    order = wait_for(live_engine, order_id, {"expired", "routing", "confirmed"}, timeout=30)
    assert order["status"] == "expired"
    assert [e["status"] for e in order["events"]] == ["pending", "waiting", "expired"]


def test_a_sniper_buys_into_a_launched_pool(live_engine, start_monitor):
    start_monitor()
    order_id = place(live_engine, tokenIn="USDC", tokenOut="MOON", amount="50", orderType="sniper")
    wait_for(live_engine, order_id, {"waiting"})
    said = market(live_engine, "launch", "MOON", "--dex", "meteora")
    assert "MOON/USDC pool opened on meteora" in said
    order = wait_for(live_engine, order_id, {"confirmed", "failed"})
    assert order["status"] == "confirmed", order["error"]
    assert order["dex"] == "meteora"


def test_the_resting_demo_triggers_a_limit_a_stop_and_a_sniper(live_engine, start_monitor):
    start_monitor()
    done = subprocess.run(
        [
            sys.executable,
            str(MANAGE_PY),
            "demo",
            "--resting",
            "--url",
            live_engine.base_url,
            "--timeout",
            "60",
        ],
        env={**live_engine.env, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 confirmed, 0 failed, 0 unfinished of 3" in done.stdout, done.stdout[-3000:]
