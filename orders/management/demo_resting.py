"""``manage.py demo --resting``: a limit, a stop and a sniper, each triggered by a market
event, live in the terminal. Everything goes through the public API: the orders, their
sockets, and the market controls the page uses (``POST /api/market/move|launch``)."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from websockets.asyncio.client import connect

from orders.management.demo_client import STATUS_STYLE, Tracked, http


def _price(base: str, amount: str = "1.5") -> Decimal:
    status, quote = http("GET", f"{base}/api/quote?tokenIn=SOL&tokenOut=USDC&amount={amount}")
    if status != 200:
        raise CommandError(f"could not quote SOL/USDC ({status}): {quote}")
    return Decimal(quote["price"])


def _place(base: str, body: dict[str, Any]) -> str:
    status, answer = http("POST", f"{base}/api/orders/execute", body)
    if status != 201:
        raise CommandError(f"the engine refused {body['orderType']} ({status}): {answer}")
    return str(answer["orderId"])


def _market(base: str, action: str, body: dict[str, str]) -> str:
    status, answer = http("POST", f"{base}/api/market/{action}", body)
    if status == 403:
        raise CommandError(
            "the engine's market controls are off (ENGINE_MARKET_CONTROLS); "
            "use `manage.py market` where the engine runs"
        )
    if status != 200:
        raise CommandError(f"market {action} refused ({status}): {answer}")
    return str(answer["changed"])


async def run_resting_demo(console: Console, base: str, *, timeout: float) -> list[Tracked]:
    price = _price(base)
    _, tokens = http("GET", f"{base}/api/tokens")
    unlaunched = [token["symbol"] for token in tokens if not token["trading"]]
    if not unlaunched:
        raise CommandError("every token trades already: no pool left to launch for the sniper")
    new_token = unlaunched[0]
    limit = (price * Decimal("1.03")).quantize(Decimal("0.0001"))
    stop = (price * Decimal("0.97")).quantize(Decimal("0.0001"))
    plan = [
        (
            "limit",
            f"sell 1.5 SOL at ≥ {limit} USDC",
            {"orderType": "limit", "limitPrice": str(limit)},
        ),
        ("stop", f"sell 1.5 SOL once ≤ {stop} USDC", {"orderType": "stop", "stopPrice": str(stop)}),
    ]
    started = time.monotonic()
    trackers: list[Tracked] = []
    conditions: dict[str, str] = {}
    for kind, condition, fields in plan:
        body = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "expiresInS": 600, **fields}
        order_id = _place(base, body)
        trackers.append(Tracked(order_id, started))
        conditions[order_id] = f"{kind}: {condition}"
    sniper = _place(
        base,
        {
            "tokenIn": "USDC",
            "tokenOut": new_token,
            "amount": "50",
            "orderType": "sniper",
            "expiresInS": 600,
        },
    )
    trackers.append(Tracked(sniper, started))
    conditions[sniper] = f"sniper: buy {new_token} for 50 USDC when its pool opens"
    log: list[str] = [f"SOL/USDC executable price for 1.5 SOL: {price}"]
    # Each market event waits until the order it is meant for has triggered.
    steps: list[tuple[Tracked, str, dict[str, str]]] = [
        (trackers[0], "move", {"symbol": "SOL", "percent": "6"}),
        (trackers[1], "move", {"symbol": "SOL", "percent": "-10"}),
        (trackers[2], "launch", {"symbol": new_token, "quote": "USDC"}),
    ]

    async def follow(tracker: Tracked) -> None:
        url = "ws" + base[len("http") :] + f"/api/orders/status/{tracker.order_id}"
        async with connect(url) as socket:
            async for raw in socket:
                tracker.apply(json.loads(raw))

    def view() -> Group:
        table = Table(expand=True, title="Resting orders", title_justify="left")
        for column in ("order", "condition", "status", "chosen", "filled", "time"):
            table.add_column(column, no_wrap=column != "condition")
        now = time.monotonic()
        for tracker in trackers:
            elapsed = (tracker.finished_at or now) - tracker.submitted_at
            table.add_row(
                tracker.order_id[:8],
                conditions[tracker.order_id],
                Text(tracker.status, style=STATUS_STYLE.get(tracker.status, "")),
                tracker.dex or "",
                tracker.amount_out or (tracker.error or "")[:40],
                f"{elapsed:5.1f}s",
            )
        return Group(table, Panel(Group(*(Text(line) for line in log)), title="market events"))

    followers = asyncio.gather(*(follow(t) for t in trackers))
    with Live(view(), console=console, refresh_per_second=8) as live:
        for target, action, change in steps:
            await asyncio.sleep(1.5)  # let the waiting orders be seen waiting
            log.append(_market(base, action, change))
            while target.status in ("pending", "waiting") and not followers.done():
                if time.monotonic() - started > timeout:
                    break
                live.update(view())
                await asyncio.sleep(0.125)
        while not followers.done() and time.monotonic() - started < timeout:
            live.update(view())
            await asyncio.sleep(0.125)
        followers.cancel()
        live.update(view())
    return trackers
