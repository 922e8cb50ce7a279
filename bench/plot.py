"""``python -m bench plot RESULTS... --out docs``: the PNGs of docs/PERFORMANCE.md.

- perf-workers.png: burst throughput against worker processes, beside the bound;
- perf-latency.png: latency percentiles against load (the ``sweep`` scenario);
- perf-scenarios.png: latency percentiles of each scenario under its own load.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _latest_by(results: list[dict[str, Any]], key: Any) -> dict[Any, dict[str, Any]]:
    chosen: dict[Any, dict[str, Any]] = {}
    for result in sorted(results, key=lambda r: r["startedAt"]):
        chosen[key(result)] = result
    return chosen


def plot_workers(bursts: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib.pyplot as plt

    by_workers = _latest_by(bursts, lambda r: r["config"]["workers"])
    workers = sorted(by_workers)
    metrics = [by_workers[n]["metrics"] for n in workers]
    measured = [m["throughput"]["perSecond"] for m in metrics]
    ideal = [m["throughput"]["zeroOverheadPerSecond"] or 0 for m in metrics]
    bound = [m["bound"]["perSecond"] or 0 for m in metrics]
    linear = [measured[0] * n / workers[0] for n in workers]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(workers, bound, "k--", label="bound c / t (slots / mean DEX time)")
    ax.plot(workers, ideal, "^:", color="grey", label="zero-overhead engine, same DEX times")
    ax.plot(workers, linear, ":", color="tab:green", alpha=0.6, label="linear from the first")
    ax.plot(workers, measured, "o-", color="tab:blue", label="measured")
    for n, value in zip(workers, measured, strict=True):
        ax.annotate(f"{value:.2f}/s", (n, value), textcoords="offset points", xytext=(6, -12))
    orders = by_workers[workers[0]]["config"]["orders"]
    ax.set_title(f"burst of {orders} orders at default DEX latency, concurrency 10 per worker")
    ax.set_xlabel('worker processes ("hosts")')
    ax.set_ylabel("orders confirmed per second")
    ax.set_xticks(workers)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "perf-workers.png")


def plot_latency(results: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib.pyplot as plt

    figures = (
        ("overhead", "engine overhead (end to end - DEX time)"),
        ("post", "POST latency"),
        ("deliveryLag", "WebSocket delivery lag"),
    )
    labels = [_short_label(r) for r in results]
    fig, axes = plt.subplots(1, len(figures), figsize=(12, 4.2), dpi=120, sharey=False)
    width = 0.25
    for ax, (key, title) in zip(axes, figures, strict=True):
        for offset, pct in enumerate(("p50", "p95", "p99")):
            values = [max(r["metrics"]["latencyMs"][key][pct] or 0, 0.01) for r in results]
            positions = [i + (offset - 1) * width for i in range(len(results))]
            ax.bar(positions, values, width, label=pct)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(results)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log scale)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("latency percentiles under each scenario's load", fontsize=11)
    return _save(fig, out / "perf-scenarios.png")


def plot_sweep(sweeps: list[dict[str, Any]], out: Path) -> Path:
    """End to end, engine overhead, POST latency and delivery lag against throughput."""
    import matplotlib.pyplot as plt

    points = sorted(sweeps, key=lambda r: r["config"]["ratePerMin"])
    offered = [r["config"]["ratePerMin"] / 60 for r in points]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=120)
    panels = (
        ("endToEnd", "end to end (POST sent -> confirmed received)"),
        ("post", "POST latency"),
        ("deliveryLag", "WebSocket delivery lag"),
    )
    for ax, (key, title) in zip(axes, panels, strict=True):
        for pct, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            values = [max(r["metrics"]["latencyMs"][key][pct] or 0, 0.1) for r in points]
            ax.plot(offered, values, style, label=pct)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("offered orders per second (DEX latency 0)")
        ax.set_ylabel("ms (log scale)")
        ax.grid(alpha=0.3, which="both")
    for r, x in zip(points, offered, strict=True):
        achieved = r["metrics"]["throughput"]["perSecond"]
        if achieved < 0.95 * x:  # saturated: say what it did get through
            p50 = r["metrics"]["latencyMs"]["endToEnd"]["p50"] or 0.1
            axes[0].annotate(
                f"only {achieved:.1f}/s\nconfirmed",
                (x, p50),
                textcoords="offset points",
                xytext=(-58, -4),
                fontsize=7,
            )
    axes[0].legend(fontsize=8)
    workers = points[0]["config"]["workers"]
    concurrency = points[0]["config"]["concurrency"]
    fig.suptitle(
        f"latency against load: steady open-loop rates, {workers} worker(s) x concurrency "
        f"{concurrency}, 2 cores shared by web, workers, PostgreSQL, Redis and the client",
        fontsize=10,
    )
    return _save(fig, out / "perf-latency.png")


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _short_label(result: dict[str, Any]) -> str:
    config = result["config"]
    if result["scenario"] == "mission":
        return f"mission\n{config['ratePerMin']:g}/min"
    if result["scenario"] == "burst":
        return f"burst {config['orders']}\n{config['workers']} worker(s)"
    if result["scenario"] == "sweep":
        return f"sweep\n{config['ratePerMin'] / 60:g}/s"
    return f"engine\n{config['orders']} at DEX 0"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench plot", description=__doc__)
    parser.add_argument("results", nargs="+", type=Path, help="result JSON files")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    results = [json.loads(path.read_text()) for path in args.results]
    args.out.mkdir(parents=True, exist_ok=True)
    bursts = [r for r in results if r["scenario"] == "burst"]
    if bursts:
        print(plot_workers(bursts, args.out))
    sweeps = [r for r in results if r["scenario"] == "sweep"]
    if sweeps:
        print(plot_sweep(sweeps, args.out))
    latest = _latest_by(
        [r for r in results if r["scenario"] != "sweep"],
        lambda r: (r["scenario"], r["config"]["workers"] if r["scenario"] == "burst" else 0),
    )
    order = ["mission", "burst", "engine"]
    ordered = sorted(
        latest.values(), key=lambda r: (order.index(r["scenario"]), r["config"]["workers"])
    )
    if ordered:
        print(plot_latency(ordered, args.out))
    return 0
