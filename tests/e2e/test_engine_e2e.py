"""The whole engine with real processes: HTTP in, Celery worker, Redis, PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.e2e.conftest import transactions_sent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORDERS = 30
CONCURRENCY = 10


def parse_at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    points = [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals]
    running = peak = 0
    for _, delta in sorted(points, key=lambda p: (p[0], p[1])):  # ends before starts on ties
        running += delta
        peak = max(peak, running)
    return peak


def test_thirty_orders_at_once_all_confirm_at_most_ten_at_a_time(live_engine):
    body = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 100}
    with ThreadPoolExecutor(max_workers=ORDERS) as pool:
        answers = list(
            pool.map(
                lambda _: live_engine.request("POST", "/api/orders/execute", body), range(ORDERS)
            )
        )
    assert all(status == 201 for status, _ in answers), answers
    order_ids = [answer["orderId"] for _, answer in answers]
    assert len(set(order_ids)) == ORDERS

    orders = [live_engine.wait_terminal(order_id) for order_id in order_ids]
    assert [order["status"] for order in orders] == ["confirmed"] * ORDERS, [
        order["error"] for order in orders
    ]

    intervals = []
    for order in orders:
        events = order["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["status"] for e in events] == [
            "pending",
            "routing",
            "building",
            "submitted",
            "confirmed",
        ]
        routing, confirmed = events[1], events[-1]
        assert set(routing["quotes"]) == {"raydium", "meteora"} and routing["details"]["reason"]
        assert confirmed["txHash"] == order["txHash"]
        assert transactions_sent(order["orderId"]) == 1
        # Executing = from the moment the worker started quoting to the terminal event.
        intervals.append((routing["details"]["quoteStartedAt"], parse_at(confirmed["at"])))
    peak = peak_overlap(intervals)
    print(f"peak executing at once: {peak} of {ORDERS} orders")
    assert peak <= CONCURRENCY, f"{peak} orders executed at once"
    assert peak >= CONCURRENCY - 2, f"only {peak} at once: the worker is not running in parallel"
