"""Trigger latency of resting orders against the size of the book.

``python -m bench.triggers --resting 100,10000,100000``: for each book size, fill the
database with that many resting orders far from their triggers (limits, stops and
snipers over several pairs and sizes), start a real price monitor process, then in
rounds place probe orders near the price and move the market through them
(``market move``, alternately up and down, so the far orders never trigger), and
finally launch a pool under waiting snipers. Latency is from the moment the move or the
launch takes effect to the probe's ``routing`` event, read from the database. The
monitor's load time, idle CPU per tick and memory are read from /proc.

Orders are queued to a queue no worker reads: this measures the monitor alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from launcher.commands import monitor_command
from launcher.processes import spawn_group, stop_groups

PROBES_PER_ROUND = 20
FAR_PAIRS = (("SOL", "USDC"), ("USDC", "SOL"), ("JUP", "USDC"), ("SOL", "USDT"), ("BONK", "SOL"))
SIZES = {"SOL": (0.2, 200.0), "USDC": (10.0, 20_000.0), "JUP": (10.0, 20_000.0), "BONK": (1e6, 1e9)}


def _setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="engine_project.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ORDER_QUEUE="bench-triggers-unread",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fill_book(count: int, *, seed: int = 1) -> None:
    """``count`` waiting orders, their limits and stops far from any price this run sees."""
    from django.utils import timezone

    from orders.gateway import default_gateway
    from orders.models import Order, OrderEvent
    from orders.monitor.prices import ExecutablePrices

    rng = random.Random(seed)
    prices = ExecutablePrices(default_gateway().venues, time.time())
    now = timezone.now()
    expires = now + timedelta(hours=2)
    batch: list[Order] = []
    for index in range(count):
        token_in, token_out = FAR_PAIRS[index % len(FAR_PAIRS)]
        low, high = SIZES[token_in]
        amount = Decimal(f"{rng.uniform(low, high):.4f}").quantize(Decimal("0.0001"))
        # Mostly limits and stops; one in fifty a sniper waiting on a pool that stays shut.
        kind = "sniper" if index % 50 == 49 else ("limit" if index % 2 else "stop")
        order = Order(
            token_in=token_in,
            token_out=token_out,
            amount_in=amount,
            slippage_bps=0 if kind == "limit" else 50,
            order_type=kind,
            status=Order.Status.WAITING,
            last_seq=2,
            expires_at=expires,
        )
        if kind == "sniper":
            order.token_in, order.token_out, order.amount_in = "USDC", "ZAP", Decimal(100)
        else:
            spot = prices.price(
                token_in, token_out, Decimal(1) if token_in != "BONK" else Decimal(10**6)
            )
            assert spot is not None
            factor = rng.uniform(1.5, 3.0) if kind == "limit" else rng.uniform(0.2, 0.6)
            price = (spot * Decimal(f"{factor:.4f}")).quantize(Decimal("1e-12"))
            if kind == "limit":
                order.limit_price = price
            else:
                order.stop_price = price
        batch.append(order)
        if len(batch) == 5000 or index == count - 1:
            created = Order.objects.bulk_create(batch)
            events = []
            for made in created:
                events.append(OrderEvent(order=made, seq=1, status="pending", at=now))
                events.append(OrderEvent(order=made, seq=2, status="waiting", at=now, details={}))
            OrderEvent.objects.bulk_create(events, batch_size=10000)
            batch = []


def _wait_loaded(log: Path, process: subprocess.Popen[bytes], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the monitor exited: {log.read_text()[-2000:]}")
        text = log.read_text(errors="replace")
        if "book loaded" in text:
            line = next(x for x in text.splitlines() if "book loaded" in x)
            return float(line.rsplit("(", 1)[1].split(" ms")[0])
        time.sleep(0.1)
    raise RuntimeError("the monitor did not load its book in time")


def _routing_times(order_ids: list[int], timeout: float) -> dict[int, datetime]:
    from orders.models import OrderEvent

    deadline = time.monotonic() + timeout
    found: dict[int, datetime] = {}
    while time.monotonic() < deadline and len(found) < len(order_ids):
        rows = OrderEvent.objects.filter(order_id__in=order_ids, status="routing").values_list(
            "order_id", "at"
        )
        found = dict(rows)
        time.sleep(0.02)
    return found


def _probe_round(up: bool, rng: random.Random) -> list[float]:
    """Probes 2 % from the price, then a 5 % move through them; their latencies in ms."""
    from orders.gateway import default_gateway
    from orders.monitor.prices import ExecutablePrices
    from orders.services.creation import order_create
    from orders.services.market_controls import market_move

    gateway = default_gateway()
    pks = []
    expires = datetime.now().astimezone() + timedelta(minutes=30)
    for _ in range(PROBES_PER_ROUND):
        amount = Decimal(f"{rng.uniform(0.5, 20):.3f}")
        price = ExecutablePrices(gateway.venues, time.time()).price("SOL", "USDC", amount)
        assert price is not None
        fields: dict[str, Any] = (
            {
                "order_type": "limit",
                "limit_price": (price * Decimal("1.02")).quantize(Decimal("1e-6")),
                "slippage_bps": 0,
            }
            if up
            else {
                "order_type": "stop",
                "stop_price": (price * Decimal("0.98")).quantize(Decimal("1e-6")),
                "slippage_bps": 50,
            }
        )
        order, _ = order_create(
            token_in="SOL", token_out="USDC", amount=amount, expires_at=expires, **fields
        )
        pks.append(order.pk)
    time.sleep(1.0)  # the monitor has read them (it catches up every tick)
    market_move(symbol="SOL", percent="5" if up else "-5", gateway=gateway)
    moved_at = gateway.market_events.snapshot()[-1].at
    routed = _routing_times(pks, timeout=15)
    missing = len(pks) - len(routed)
    if missing:
        print(f"  {missing} probes did not trigger within 15 s", file=sys.stderr)
    return [(at.timestamp() - moved_at) * 1000 for at in routed.values()]


def _launch_round(symbol: str) -> list[float]:
    from orders.gateway import default_gateway
    from orders.services.creation import order_create
    from orders.services.market_controls import market_launch

    gateway = default_gateway()
    expires = datetime.now().astimezone() + timedelta(minutes=30)
    pks = [
        order_create(
            token_in="USDC",
            token_out=symbol,
            amount=Decimal(50),
            slippage_bps=500,
            order_type="sniper",
            expires_at=expires,
        )[0].pk
        for _ in range(PROBES_PER_ROUND)
    ]
    time.sleep(1.0)
    market_launch(symbol=symbol, gateway=gateway)
    launched_at = gateway.market_events.snapshot()[-1].at
    routed = _routing_times(pks, timeout=15)
    return [(at.timestamp() - launched_at) * 1000 for at in routed.values()]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(count: int, *, rounds: int, services: Any, logs: Path) -> dict[str, Any]:
    from dex.market_events import RedisMarketEvents
    from orders.gateway import default_gateway

    services.reset()
    RedisMarketEvents(default_gateway().network.client).clear()
    started = time.monotonic()
    fill_book(count)
    fill_s = time.monotonic() - started
    log = logs / f"monitor-{count}.log"
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "LOG_LEVEL": "INFO",
        "MONITOR_TICK_MS": "50",
    }
    with log.open("wb") as output:
        monitor = spawn_group(monitor_command(), env=env, output=output)
        try:
            load_ms = _wait_loaded(log, monitor, timeout=600)
            cpu_before, idle_started = _cpu_s(monitor.pid), time.monotonic()
            time.sleep(5.0)
            idle_cpu = (_cpu_s(monitor.pid) - cpu_before) / (time.monotonic() - idle_started)
            rss = _rss_mb(monitor.pid)
            rng = random.Random(count)
            moves: list[float] = []
            for index in range(rounds):
                moves += _probe_round(index % 2 == 0, rng)
            launches = _launch_round("NOVA")
        finally:
            stop_groups([monitor], grace_s=5)
    every = moves + launches
    return {
        "resting": count,
        "fill_s": round(fill_s, 1),
        "load_ms": round(load_ms),
        "idle_cpu_pct": round(idle_cpu * 100, 1),
        "rss_mb": round(rss, 1),
        "samples": len(every),
        "move_p50_ms": round(statistics.median(moves), 1) if moves else None,
        "move_p99_ms": round(_pct(moves, 0.99), 1) if moves else None,
        "launch_p50_ms": round(statistics.median(launches), 1) if launches else None,
        "launch_p99_ms": round(_pct(launches, 0.99), 1) if launches else None,
        "p50_ms": round(statistics.median(every), 1) if every else None,
        "p99_ms": round(_pct(every, 0.99), 1) if every else None,
        "max_ms": round(max(every), 1) if every else None,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    head = (
        "| resting orders | trigger p50 | p99 | max | launch p50 / p99 | monitor idle CPU "
        "| RSS | book load |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    rows = [
        f"| {r['resting']:,} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['max_ms']} ms "
        f"| {r['launch_p50_ms']} / {r['launch_p99_ms']} ms | {r['idle_cpu_pct']} % of a core "
        f"| {r['rss_mb']} MB | {r['load_ms'] / 1000:.1f} s |"
        for r in results
    ]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triggers", description=__doc__)
    parser.add_argument("--resting", default="100,10000,100000", help="book sizes")
    parser.add_argument("--rounds", type=int, default=6, help="price-move rounds per size")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.resting.split(",") if part.strip()]

    from bench.services import BenchServices

    services = BenchServices(
        database_url=args.database_url, redis_url=args.redis_url, database_name="engine_bench"
    )
    try:
        services.migrate()
        _setup_django(services.database_url, services.redis_url)
        logs = args.results / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sizes:
            print(f"{size:,} resting orders…", flush=True)
            results.append(measure(size, rounds=args.rounds, services=services, logs=logs))
            print(json.dumps(results[-1]), flush=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = args.results / f"triggers-{stamp}.json"
        out.write_text(json.dumps({"results": results}, indent=2))
        print(markdown(results))
        print(f"saved {out}")
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
