"""``python -m bench [mission] [burst] [engine] [options]`` and ``python -m bench plot``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.cpu import wait_until_quiet
from bench.report import markdown, render, render_scale_out, save
from bench.scenarios import (
    EXTRA_SCENARIOS,
    SCENARIOS,
    Plan,
    Target,
    burst_plan,
    clients_plan,
    engine_plan,
    mission_plan,
    run_plan,
    sweep_plan,
)
from bench.services import BenchServices
from launcher.paths import ROOT

RESULTS = ROOT / "bench" / "results"

EPILOG = """\
examples:
  python -m bench                       all three scenarios, each on its own spawned engine
  python -m bench --quick               shorter versions (about 2 minutes in all)
  python -m bench burst --workers 1,2   scale-out: 1 then 2 worker processes
  python -m bench engine --profile bench/results/profile   py-spy the engine scenario
  python -m bench sweep --rates 5,10,20      latency against offered load, DEX latency 0
  python -m bench clients --clients 100,1000  bots in flight, each on its order's socket
  python -m bench burst --orders 5 --url http://127.0.0.1:8000   a running engine
  python -m bench plot bench/results/*.json --out docs   the PNGs of docs/PERFORMANCE.md
  python -m bench markdown bench/results/mission-*.json  a result's table as Markdown
"""


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("worker counts must be positive")
    return values


def _float_list(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("rates must be positive")
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load benchmark of the order engine through its public HTTP and WebSocket API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "scenarios",
        nargs="*",
        choices=[*SCENARIOS, *EXTRA_SCENARIOS, []],
        metavar="SCENARIO",
        help="mission, burst and/or engine (default: all three); sweep: latency against load; "
        "clients: bots following their own status sockets",
    )
    p.add_argument("--quick", action="store_true", help="shorter versions of the scenarios")
    p.add_argument("--orders", type=int, help="orders of burst (200) / engine (1000)")
    p.add_argument("--rate", type=float, default=100.0, help="mission orders per minute (100)")
    p.add_argument("--duration", type=float, help="mission seconds (120); sweep: per rate (30)")
    p.add_argument(
        "--rates",
        type=_float_list,
        default=[5.0, 10.0, 15.0, 20.0, 25.0],
        help="sweep: orders per second, one run each (5,10,15,20,25)",
    )
    p.add_argument(
        "--workers",
        type=_int_list,
        help="burst: worker processes, e.g. 1,2 (default 1,2); engine: 1",
    )
    p.add_argument(
        "--clients",
        type=_int_list,
        default=[100],
        help="clients: bots in flight, one run each, e.g. 100,1000 (100)",
    )
    p.add_argument("--concurrency", type=int, help="ORDER_CONCURRENCY of each worker (10)")
    p.add_argument("--serial", type=int, help="engine: orders sent one at a time first (50)")
    p.add_argument(
        "--connections", type=int, default=8, help="client keep-alive HTTP connections (8)"
    )
    p.add_argument(
        "--profile", type=Path, metavar="DIR", help="engine: py-spy web and workers into DIR"
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="before each run wait up to S seconds for the machine to be idle (shared hosts)",
    )
    p.add_argument("--results", type=Path, default=RESULTS, help="where JSON results go")
    running = p.add_argument_group("driving a running engine instead of spawning one")
    running.add_argument("--url", help="e.g. http://127.0.0.1:8000 (then no knobs are set)")
    running.add_argument(
        "--web-pid", type=int, action="append", default=[], help="its daphne pid, for CPU"
    )
    running.add_argument(
        "--worker-pid", type=int, action="append", default=[], help="its Celery worker pids"
    )
    running.add_argument(
        "--slots", type=int, help="its orders-at-once in all (for the bound); default: observed"
    )
    spawned = p.add_argument_group("spawned engines")
    spawned.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="server to use (default $DATABASE_URL, else the embedded one)",
    )
    spawned.add_argument("--database-name", default="engine_bench", help="the bench's own database")
    spawned.add_argument("--redis-url", default="", help="default: a private redis-server")
    return p


def plans(args: argparse.Namespace) -> list[list[Plan]]:
    """Groups of plans; a group of several is a scale-out comparison."""
    chosen = args.scenarios or list(SCENARIOS)
    quick = args.quick
    concurrency = args.concurrency or 10
    # A running engine has the workers it has: one run per scenario.
    running = [1] if args.url else None
    groups: list[list[Plan]] = []
    for scenario in (*SCENARIOS, *EXTRA_SCENARIOS):
        if scenario not in chosen:
            continue
        if scenario == "mission":
            duration = args.duration or (30.0 if quick else 120.0)
            groups.append(
                [mission_plan(rate_per_min=args.rate, duration_s=duration, concurrency=concurrency)]
            )
        elif scenario == "burst":
            workers = running or args.workers or [1, 2]
            orders = args.orders or (60 if quick else 200)
            groups.append(
                [burst_plan(orders=orders, workers=n, concurrency=concurrency) for n in workers]
            )
        elif scenario == "sweep":
            workers = running or args.workers or [1]
            duration = args.duration or (10.0 if quick else 30.0)
            groups.append(
                [
                    sweep_plan(
                        rate_per_s=rate,
                        duration_s=duration,
                        workers=workers[0],
                        concurrency=concurrency,
                    )
                    for rate in args.rates
                ]
            )
        elif scenario == "clients":
            serial = args.serial if args.serial is not None else (20 if quick else 50)
            groups.append(
                [
                    clients_plan(
                        orders=args.orders or max(3 * n, 600 if quick else 2000),
                        clients=n,
                        serial=serial,
                        concurrency=concurrency,
                    )
                    for n in args.clients
                ]
            )
        else:
            workers = running or args.workers or [1]
            orders = args.orders or (300 if quick else 1000)
            serial = args.serial if args.serial is not None else (20 if quick else 50)
            groups.append(
                [
                    engine_plan(orders=orders, serial=serial, workers=n, concurrency=concurrency)
                    for n in workers
                ]
            )
    if args.url:
        where = f"the engine at {args.url} (its own knobs)"
        groups = [[replace(plan, label=_running_label(plan, where)) for plan in g] for g in groups]
    return groups


def _running_label(plan: Plan, where: str) -> str:
    return f"{plan.label.split(',')[0]}, {len(plan.offsets)} orders, {where}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plot"]:
        from bench.plot import main as plot_main

        return plot_main(argv[1:])
    if argv[:1] == ["markdown"]:
        for name in argv[1:]:
            print(markdown(json.loads(Path(name).read_text())) + "\n")
        return 0
    args = parser().parse_args(argv)
    # SIGTERM (timeout, a cancelled CI job) unwinds like Ctrl-C, so the finally blocks stop
    # the spawned engine and the embedded PostgreSQL, which no parent-death signal reaches.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console()
    target = Target(
        url=args.url,
        web_pids=args.web_pid,
        worker_pids=args.worker_pid,
        slots=args.slots,
        connections=args.connections,
        logs_dir=args.results / "logs",
        profile_dir=args.profile,
    )
    services: BenchServices | None = None
    try:
        if args.url is None:
            console.print(
                "[dim]starting PostgreSQL/Redis if needed, migrating the bench database…[/]"
            )
            services = BenchServices(
                database_url=args.database_url,
                redis_url=args.redis_url,
                database_name=args.database_name,
            )
            services.migrate()
            console.print(
                f"[dim]PostgreSQL: {services.database_note}; database {services.database_name}[/]"
            )
            console.print(f"[dim]Redis: {services.redis_note}[/]")
            target.services = services
        failed = False
        for group in plans(args):
            results: list[dict[str, Any]] = []
            for plan in group:
                if args.wait_quiet:
                    used = wait_until_quiet(args.wait_quiet)
                    console.print(f"[dim]machine load before the run: {used:.2f} cores[/]")
                console.print(f"[bold]running {plan.label}[/] …")
                result = run_plan(plan, target)
                path = save(result, args.results)
                render(result, console)
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                console.print(f"  [dim]JSON: {shown}[/]\n")
                results.append(result)
                failed |= result["metrics"]["counts"]["lost"] > 0
            if len(results) > 1 and results[0]["scenario"] == "burst":
                render_scale_out(results, console)
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 130
    finally:
        if services is not None:
            services.close()
