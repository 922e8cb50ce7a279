"""Submit several orders at once to a running engine and watch them live in the terminal.

Everything goes through the public API, as any client would: HTTP to submit, one
WebSocket per order to follow it, ``/api/orders/stats`` for the queue.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from websockets.asyncio.client import connect

from orders.management.demo_client import STATUS_STYLE, Tracked, http
from orders.management.demo_resting import run_resting_demo


class Command(BaseCommand):
    help = "Submit N orders at once to a running engine and follow them live."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=5, help="how many orders (1-100)")
        parser.add_argument("--url", default="http://localhost:8000", help="engine base URL")
        parser.add_argument("--pair", default="SOL/USDC", help="tokenIn/tokenOut")
        parser.add_argument("--amount", default="1.5", help="amount of tokenIn per order")
        parser.add_argument(
            "--vary", action="store_true", help="scale amounts up to show routing flip with size"
        )
        parser.add_argument("--slippage-bps", type=int, default=50)
        parser.add_argument(
            "--resting",
            action="store_true",
            help="a limit, a stop and a sniper, each triggered by a market event",
        )
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["orders"] <= 100:
            raise CommandError("--orders must be between 1 and 100")
        token_in, _, token_out = options["pair"].partition("/")
        if not token_out:
            raise CommandError("--pair must look like SOL/USDC")
        base = options["url"].rstrip("/")
        try:
            http("GET", f"{base}/livez")
        except OSError as exc:
            raise CommandError(
                f"no engine answers at {base} ({exc}); start it with `make run`"
            ) from None
        console = Console()
        if options["resting"]:
            trackers = asyncio.run(run_resting_demo(console, base, timeout=options["timeout"]))
            self._summary(console, trackers)
            return
        trackers = asyncio.run(self._run(console, base, token_in, token_out, options))
        self._summary(console, trackers)

    async def _run(
        self, console: Console, base: str, token_in: str, token_out: str, options: dict
    ) -> list[Tracked]:
        ws_base = "ws" + base[len("http") :]
        amounts = [
            str(
                Decimal(options["amount"]) * 10 ** (i % 5) if options["vary"] else options["amount"]
            )
            for i in range(options["orders"])
        ]
        started = time.monotonic()
        answers = await asyncio.gather(
            *(
                asyncio.to_thread(
                    http,
                    "POST",
                    f"{base}/api/orders/execute",
                    {
                        "tokenIn": token_in,
                        "tokenOut": token_out,
                        "amount": amount,
                        "slippageBps": options["slippage_bps"],
                    },
                )
                for amount in amounts
            )
        )
        trackers: list[Tracked] = []
        for status, answer in answers:
            if status != 201:
                raise CommandError(f"the engine refused the order ({status}): {answer}")
            trackers.append(Tracked(answer["orderId"], started))
        stats: dict[str, Any] = {}

        async def follow(tracker: Tracked) -> None:
            url = f"{ws_base}/api/orders/status/{tracker.order_id}"
            async with connect(url) as socket:
                async for raw in socket:
                    tracker.apply(json.loads(raw))

        async def poll_stats() -> None:
            while True:
                _, body = await asyncio.to_thread(http, "GET", f"{base}/api/orders/stats")
                stats.update(body or {})
                await asyncio.sleep(0.5)

        poller = asyncio.create_task(poll_stats())
        with Live(
            self._view(trackers, stats, started), console=console, refresh_per_second=8
        ) as live:
            followers = asyncio.gather(*(follow(t) for t in trackers))
            while not followers.done():
                live.update(self._view(trackers, stats, started))
                await asyncio.sleep(0.125)
                if time.monotonic() - started > options["timeout"]:
                    followers.cancel()
                    break
            poller.cancel()
            # The last frame shows the queue as it is now, not as of the last poll.
            _, body = await asyncio.to_thread(http, "GET", f"{base}/api/orders/stats")
            stats.update(body or {})
            live.update(self._view(trackers, stats, started))
        return trackers

    def _view(self, trackers: list[Tracked], stats: dict, started: float) -> Group:
        table = Table(expand=True, title="Orders", title_justify="left")
        table.add_column("order", no_wrap=True, min_width=8)
        table.add_column("status", no_wrap=True, min_width=9)
        table.add_column("try", no_wrap=True, justify="right")
        table.add_column("raydium out", no_wrap=True, justify="right", max_width=24)
        table.add_column("meteora out", no_wrap=True, justify="right", max_width=24)
        table.add_column("chosen", no_wrap=True, min_width=7)
        table.add_column("filled", no_wrap=True, justify="right", max_width=28)
        table.add_column("tx", no_wrap=True, min_width=10)
        table.add_column("time", no_wrap=True, justify="right", min_width=6)
        now = time.monotonic()
        for tracker in trackers:
            quotes = [
                (tracker.quotes.get(dex) or {}).get("outAmount")
                or ("no fill" if (tracker.quotes.get(dex) or {}).get("error") else "")
                for dex in ("raydium", "meteora")
            ]
            elapsed = (tracker.finished_at or now) - tracker.submitted_at
            table.add_row(
                tracker.order_id[:8],
                Text(tracker.status, style=STATUS_STYLE.get(tracker.status, "")),
                str(tracker.attempt or ""),
                *[
                    Text(q or "…", style="bold" if dex == tracker.dex else "dim")
                    for q, dex in zip(quotes, ("raydium", "meteora"), strict=True)
                ],
                tracker.dex or "",
                tracker.amount_out or (tracker.error or "")[:40],
                (tracker.tx_hash or "")[:10],
                f"{elapsed:5.2f}s",
            )
        queue = Text.assemble(
            ("queue  ", "bold"),
            f"executing {stats.get('executing', '?')}   ",
            f"queued {stats.get('queued', '?')}   ",
            f"retrying {stats.get('retrying', '?')}   ",
            f"confirmed/min {stats.get('confirmedLastMinute', '?')}   ",
            f"failed/min {stats.get('failedLastMinute', '?')}   ",
            (f"t+{now - started:.1f}s", "dim"),
        )
        decisions = [
            Text(f"{t.order_id[:8]}  {t.reason}", style="dim") for t in trackers if t.reason
        ]
        return Group(
            Panel(queue),
            table,
            Panel(
                Group(*decisions) if decisions else Text("waiting for quotes…", style="dim"),
                title="routing decisions",
            ),
        )

    def _summary(self, console: Console, trackers: list[Tracked]) -> None:
        done = [t for t in trackers if t.finished_at is not None]
        confirmed = [t for t in done if t.status == "confirmed"]
        wins: dict[str, int] = {}
        for tracker in confirmed:
            wins[tracker.dex or "?"] = wins.get(tracker.dex or "?", 0) + 1
        latencies = sorted((t.finished_at or 0) - t.submitted_at for t in done)
        console.print()
        console.print(
            f"[bold]{len(confirmed)}[/] confirmed, [bold]{len(done) - len(confirmed)}[/] failed, "
            f"[bold]{len(trackers) - len(done)}[/] unfinished of {len(trackers)}; "
            f"DEX wins: {', '.join(f'{dex} {n}' for dex, n in sorted(wins.items())) or 'none'}"
        )
        if latencies:
            console.print(
                f"end-to-end: fastest {latencies[0]:.2f}s, median "
                f"{latencies[len(latencies) // 2]:.2f}s, slowest {latencies[-1]:.2f}s"
            )
        for tracker in trackers:
            if tracker.status in ("failed", "expired", "cancelled"):
                console.print(f"[red]{tracker.order_id}[/]: {tracker.error}")
