"""The three scenarios of issue 4 and how one run of each is carried out."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.analysis import analyse
from bench.cpu import CpuProbe
from bench.engine import EngineKnobs, SpawnedEngine
from bench.load import Driver, RunRecord
from bench.profile import Profiler, summarize
from bench.services import BenchServices, postmaster_pid, redis_cpu_seconds
from launcher.paths import ROOT

SCENARIOS = ("mission", "burst", "engine")
# Not part of the default run: latency against offered load at zero DEX latency.
EXTRA_SCENARIOS = ("sweep", "clients")
MEAN_DEFAULT_DEX_S = 2.7  # 200 ms quote + 2000-3000 ms landing, to size timeouts


@dataclass(frozen=True)
class Plan:
    """One run: the engine's knobs and the client's schedule of POSTs."""

    scenario: str
    label: str
    knobs: EngineKnobs
    offsets: list[float]
    serial: int = 0  # orders sent one at a time before the load (unloaded latency)
    rate_per_min: float | None = None
    # Closed loop: this many clients, each following its own order's status socket.
    clients: int = 0

    @property
    def expected_s(self) -> float:
        """A generous estimate of the run's length, for its time limit."""
        mean_dex = (self.knobs.quote_ms + _mean_ms(self.knobs.execute_ms)) / 1000
        drain = len(self.offsets) * mean_dex / self.knobs.slots
        return max(self.offsets, default=0) + drain + 0.05 * len(self.offsets)


def _mean_ms(spec: str) -> float:
    low, _, high = spec.partition("-")
    return (float(low) + float(high or low)) / 2


def mission_plan(*, rate_per_min: float, duration_s: float, concurrency: int) -> Plan:
    """The user's bar: a steady 100 orders a minute at default latencies."""
    count = round(rate_per_min * duration_s / 60)
    interval = 60 / rate_per_min
    return Plan(
        scenario="mission",
        label=f"mission, {rate_per_min:g} orders/min for {duration_s:g} s, "
        f"concurrency {concurrency}",
        knobs=EngineKnobs(workers=1, concurrency=concurrency),
        offsets=[index * interval for index in range(count)],
        rate_per_min=rate_per_min,
    )


def burst_plan(*, orders: int, workers: int, concurrency: int) -> Plan:
    """N orders at once at default latencies: is every slot kept busy?"""
    return Plan(
        scenario="burst",
        label=f"burst, {orders} orders at once, {workers} worker(s) x concurrency {concurrency}",
        knobs=EngineKnobs(workers=workers, concurrency=concurrency),
        offsets=[0.0] * orders,
    )


def engine_plan(*, orders: int, serial: int, workers: int, concurrency: int) -> Plan:
    """DEX latencies zero: whatever time and CPU remain are the engine's own."""
    return Plan(
        scenario="engine",
        label=f"engine, DEX latency 0, {orders} orders at once, "
        f"{workers} worker(s) x concurrency {concurrency}",
        knobs=EngineKnobs(workers=workers, concurrency=concurrency, quote_ms=0, execute_ms="0"),
        offsets=[0.0] * orders,
        serial=serial,
    )


def clients_plan(*, orders: int, clients: int, serial: int, concurrency: int) -> Plan:
    """DEX latency 0, ``clients`` bots in flight, each POST then its own status socket."""
    return Plan(
        scenario="clients",
        label=f"clients, DEX latency 0, {orders} orders from {clients} clients in flight, "
        f"each following its status socket, 1 worker x concurrency {concurrency}",
        knobs=EngineKnobs(workers=1, concurrency=concurrency, quote_ms=0, execute_ms="0"),
        offsets=[0.0] * orders,
        serial=serial,
        clients=clients,
    )


def sweep_plan(*, rate_per_s: float, duration_s: float, workers: int, concurrency: int) -> Plan:
    """A steady open-loop rate at zero DEX latency: one point of latency against load."""
    count = max(1, round(rate_per_s * duration_s))
    return Plan(
        scenario="sweep",
        label=f"sweep, {rate_per_s:g} orders/s for {duration_s:g} s at DEX latency 0, "
        f"{workers} worker(s) x concurrency {concurrency}",
        knobs=EngineKnobs(workers=workers, concurrency=concurrency, quote_ms=0, execute_ms="0"),
        offsets=[index / rate_per_s for index in range(count)],
        rate_per_min=rate_per_s * 60,
    )


@dataclass
class Target:
    """Where the load goes: a spawned engine (``services``) or a running one (``url``)."""

    services: BenchServices | None = None
    url: str | None = None
    web_pids: list[int] = field(default_factory=list)
    worker_pids: list[int] = field(default_factory=list)
    slots: int | None = None
    connections: int = 8
    logs_dir: Path = Path("bench/results/logs")
    profile_dir: Path | None = None


def _revision() -> str | None:
    """The engine's git commit, marked ``+dirty`` when the work tree has changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if head and dirty else head or None


def _machine() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpuModel": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadAverage": [round(value, 2) for value in os.getloadavg()],
    }


def run_plan(plan: Plan, target: Target) -> dict[str, Any]:
    """Start the engine if needed, run the plan's load, stop, analyse."""
    engine: SpawnedEngine | None = None
    notes: list[str] = []
    machine_before = _machine()
    if target.services is not None:
        target.services.reset()
        engine = SpawnedEngine(plan.knobs, target.services, target.logs_dir / plan.scenario)
        try:
            engine.start()
            base_url, ws_url = engine.base_url, engine.ws_url
            trees = {"web": [engine.web_pid], "workers": engine.worker_pids}
            postmaster = postmaster_pid(target.services.database_url)
            if postmaster is not None:
                trees["postgres"] = [postmaster]
            redis_url = target.services.redis_url
            probe: CpuProbe | None = CpuProbe(
                trees, redis_seconds=lambda: redis_cpu_seconds(redis_url)
            )
            if not target.services.private_database:
                notes.append("PostgreSQL CPU is the whole server's: it may include others' work")
            if not target.services.private_redis:
                notes.append("Redis CPU is the whole server's: it may include others' work")
            slots: int | None = plan.knobs.slots
        except BaseException:
            engine.stop()  # never leave daphne and workers running on a failed set-up
            raise
    else:
        assert target.url is not None
        base_url = target.url.rstrip("/")
        ws_url = "ws" + base_url[4:]
        trees = {"web": target.web_pids, "workers": target.worker_pids}
        probe = CpuProbe(trees) if target.web_pids or target.worker_pids else None
        slots = target.slots
        notes.append("driving a running engine: its knobs are its own, not the scenario's")
    try:
        connections = max(target.connections, plan.clients)
        driver = Driver(base_url, ws_url, connections, probe)
        serial: RunRecord | None = None
        if plan.serial and plan.clients:
            serial = asyncio.run(driver.run_clients(plan.serial, clients=1, limit_s=600))
        elif plan.serial:
            serial = asyncio.run(driver.run_serial(plan.serial, limit_s=600))
        profiler = None
        if target.profile_dir is not None and engine is not None:
            profiler = Profiler(
                target.profile_dir,
                {
                    "web": engine.web_pid,
                    **{f"worker{i}": pid for i, pid in enumerate(engine.worker_pids, 1)},
                },
            )
            profiler.start()
            driver.on_loaded = profiler.stop
            time.sleep(1.0)  # py-spy attaches
        limit_s = plan.expected_s * 3 + 120
        if plan.clients:
            load = driver.run_clients(len(plan.offsets), clients=plan.clients, limit_s=limit_s)
        else:
            load = driver.run(plan.offsets, limit_s=limit_s)
        record = asyncio.run(load)
    finally:
        if engine is not None:
            engine.stop()
    metrics = analyse(record, slots=slots)
    if serial is not None:
        unloaded = analyse(serial, slots=slots)
        metrics["unloaded"] = unloaded["latencyMs"]["endToEnd"]
        metrics["unloadedOverhead"] = unloaded["latencyMs"]["overhead"]
        metrics["unloadedPost"] = unloaded["latencyMs"]["post"]
    ours = sum(metrics["cpu"]["seconds"].values())
    busy = record.machine_busy_s
    metrics["cpu"]["machineBusyS"] = round(busy, 3)
    metrics["cpu"]["othersS"] = round(busy - ours, 3) if probe else None
    if probe and busy - ours > 0.1 * busy + 1:
        notes.append(
            f"other processes used {busy - ours:.1f} CPU s of {busy:.1f} during the run: "
            "the machine was not quiet, re-run for clean figures"
        )
    if plan.scenario == "engine" and engine is None and metrics["bound"]["meanDexMs"] > 50:
        notes.append(
            f"mean DEX time was {metrics['bound']['meanDexMs']:.0f} ms: the engine scenario "
            "needs DEX_QUOTE_LATENCY_MS=0 DEX_EXECUTE_LATENCY_MS=0 (spawned engines set them)"
        )
    share = metrics["cpu"]["clientCoreShare"]
    if share > 0.8:
        notes.append(f"the load client used {share:.0%} of a core: it may limit this run")
    result: dict[str, Any] = {
        "scenario": plan.scenario,
        "label": plan.label,
        "config": {
            **asdict(plan.knobs),
            "orders": len(plan.offsets),
            "serial": plan.serial,
            "ratePerMin": plan.rate_per_min,
            "clients": plan.clients,
            "durationS": max(plan.offsets, default=0.0),
            "connections": connections,
            "spawned": engine is not None,
            "engineRevision": _revision() if engine is not None else None,
            "url": target.url,
        },
        "machine": {"before": machine_before, "after": _machine()},
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.window[0])),
        "metrics": metrics,
        "notes": notes,
    }
    if target.profile_dir is not None and engine is not None:
        result["profile"] = {
            path.stem: summarize(path) for path in sorted(target.profile_dir.glob("*.txt"))
        }
        (target.profile_dir / "summary.json").write_text(json.dumps(result["profile"], indent=2))
    return result
