"""What single steps of the hot path cost, each measured on its own.

``python -m bench.costs`` spawns an engine at DEX latency 0 (daphne and one worker) and
reports, as the median of ``--rounds`` rounds:

- daphne's CPU per ``POST /api/orders/execute`` (keep-alive connections, no sockets),
  and the worker's CPU per order it executes, from the first POST until it is idle;
- daphne's CPU per status socket replaying a finished order (its five events);
- in this process, on the same database and Redis: the client's and the PostgreSQL
  backend's CPU per transition (one statement each), and the CPU per enqueue, through
  the engine's queue and through Celery's ``apply_async``.

The end-to-end figures are ``bench clients``'; these are for an A/B of a change to one
step (run both trees, alternating), where a whole run's noise would hide it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench.cpu import tree_cpu_seconds
from bench.engine import EngineKnobs, SpawnedEngine
from bench.httpclient import HttpClient
from bench.services import BenchServices

ORDER_BODY = json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}).encode()
CONNECTIONS = 4


def _cpu_s(pid: int) -> float:
    return tree_cpu_seconds([pid])[pid]


async def _post_orders(base_url: str, count: int) -> list[str]:
    client = HttpClient(base_url, CONNECTIONS)
    request = client.encode("POST", "/api/orders/execute", ORDER_BODY)
    try:
        answers = await asyncio.gather(*(client.send(request) for _ in range(count)))
    finally:
        await client.aclose()
    return [json.loads(answer.body)["orderId"] for answer in answers]


async def _follow(ws_url: str, order_ids: list[str]) -> None:
    async def one_by_one(ids: list[str]) -> None:
        for order_id in ids:
            async with connect(f"{ws_url}/api/orders/status/{order_id}") as socket:
                async for _ in socket:
                    pass

    await asyncio.gather(*(one_by_one(order_ids[n::CONNECTIONS]) for n in range(CONNECTIONS)))


def _wait_until_idle(base_url: str, *, limit_s: float = 120.0) -> None:
    """Until no order is queued or executing (``GET /api/orders/stats``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base_url}/api/orders/stats", timeout=10) as answer:
            stats = json.load(answer)
        if not stats["queued"] and not stats["executing"] and not stats["retrying"]:
            return
        time.sleep(0.2)
    raise RuntimeError(f"orders still running after {limit_s:g} s")


def measure_web(engine: SpawnedEngine, *, orders: int) -> dict[str, float]:
    """daphne's CPU per POST and the worker's per order executed, then daphne's per
    status socket of those orders once finished."""
    pid, worker = engine.web_pid, engine.worker_pids[0]
    before, worker_before = _cpu_s(pid), _cpu_s(worker)
    ids = asyncio.run(_post_orders(engine.base_url, orders))
    post_ms = (_cpu_s(pid) - before) / orders * 1000
    _wait_until_idle(engine.base_url)
    worker_ms = (_cpu_s(worker) - worker_before) / orders * 1000
    before = _cpu_s(pid)
    asyncio.run(_follow(engine.ws_url, ids))
    socket_ms = (_cpu_s(pid) - before) / orders * 1000
    return {"postMs": post_ms, "workerPerOrderMs": worker_ms, "statusSocketMs": socket_ms}


def _setup_django(services: BenchServices) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="engine_project.settings",
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        ORDER_QUEUE="bench-costs-unread",  # no worker reads it
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def _per_call_ms(call: Callable[[], Any], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - started) / count * 1000


def measure_statements(*, orders: int) -> dict[str, float]:
    """Client and backend CPU per transition; CPU per enqueue, ours and Celery's."""
    import redis
    from django.conf import settings
    from django.db import connection

    from orders.celery_queue import CeleryOrderQueue
    from orders.notifications import NullNotifier
    from orders.services.creation import order_create
    from orders.services.order_queue import NullOrderQueue
    from orders.services.transitions import order_transition
    from orders.tasks import execute_order

    notifier = NullNotifier()
    made = [
        order_create(
            token_in="SOL",
            token_out="USDC",
            amount=Decimal("1.5"),
            slippage_bps=50,
            notifier=notifier,
            queue=NullOrderQueue(),
        )[0]
        for _ in range(orders)
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
    backend_before, client_before = _cpu_s(backend), time.process_time()
    for order in made:
        order_transition(
            order=order,
            to="routing",
            notifier=notifier,
            changes={"attempts": 1, "dex": "raydium"},
            event={"details": {"quoteMs": 1.0}, "quotes": {"raydium": {"outAmount": "1"}}},
        )
        order_transition(order=order, to="building", notifier=notifier, event={"details": {}})
    transitions = 2 * orders
    client_ms = (time.process_time() - client_before) / transitions * 1000
    backend_ms = (_cpu_s(backend) - backend_before) / transitions * 1000

    queue = CeleryOrderQueue()
    ours = _per_call_ms(lambda: queue.enqueue(order_pk=1), orders)
    celerys = _per_call_ms(lambda: execute_order.apply_async((1,)), orders)
    redis.Redis.from_url(settings.REDIS_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    return {
        "transitionClientMs": client_ms,
        "transitionBackendMs": backend_ms,
        "enqueueMs": ours,
        "applyAsyncMs": celerys,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__)
    parser.add_argument("--orders", type=int, default=1000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--database-name", default="engine_bench")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)

    services = BenchServices(
        database_url=args.database_url, redis_url=args.redis_url, database_name=args.database_name
    )
    rounds: list[dict[str, float]] = []
    try:
        services.migrate()
        services.reset()
        knobs = EngineKnobs(quote_ms=0, execute_ms="0")
        engine = SpawnedEngine(knobs, services, args.results / "logs" / "costs")
        engine.start()
        try:
            web = [measure_web(engine, orders=args.orders) for _ in range(args.rounds)]
        finally:
            engine.stop()
        _setup_django(services)
        statements = [measure_statements(orders=args.orders) for _ in range(args.rounds)]
        rounds = [{**w, **s} for w, s in zip(web, statements, strict=True)]
        # Those orders were moved by hand, with no transaction behind them: no engine
        # that starts on this database later may find them.
        from django.db import connections

        connections.close_all()
        services.reset()
    finally:
        services.close()
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    for key, value in medians.items():
        spread = ", ".join(f"{r[key]:.3f}" for r in rounds)
        print(f"{key:22s} {value:8.3f} ms   (rounds: {spread})")
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"costs-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"rounds": rounds, "medians": medians}, indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
