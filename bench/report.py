"""Print each figure beside its target and the physical bound (or the Node.js bar)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# The Node.js engine (Fastify + BullMQ + PostgreSQL + Redis) on this machine kind.
NODE_ORDERS_PER_S = 336.0
NODE_CPU_MS_PER_ORDER = 4.4
NODE_UNLOADED_P50_MS = 7.0
# The user's bar and the targets.
USER_ORDERS_PER_MIN = 100.0
MISSION_OVERHEAD_P99_MS = 50.0
MISSION_LAG_P99_MS = 20.0
BURST_BOUND_SHARE = 0.95  # of what an engine with no cost of its own would do
CLIENT_BOUND_SHARE = 0.8  # a client using more of a core than this may be the bottleneck


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    bound: str = ""
    ok: bool | None = None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _pcts(p: dict[str, Any], keys: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    return " / ".join(_ms(p.get(key)) for key in keys)


def _check(value: float | None, ok: bool) -> bool | None:
    return None if value is None else ok


def rows_for(result: dict[str, Any]) -> list[Row]:
    """The table of one scenario run."""
    scenario = result["scenario"]
    m = result["metrics"]
    counts, lat, cpu = m["counts"], m["latencyMs"], m["cpu"]
    bound = m["bound"]
    slots = bound["slots"]
    slots_note = f"{slots} slots" + (" (observed)" if bound["slotsObserved"] else "")
    bound_s = bound["perSecond"]
    rows: list[Row] = []

    every = counts["confirmed"] == counts["submitted"]
    rows.append(
        Row(
            "orders confirmed / failed / lost",
            f"{counts['confirmed']} / {counts['failed']} / {counts['lost']}"
            + (f"  ({counts['rejected']} rejected)" if counts["rejected"] else ""),
            f"all {counts['submitted']} confirmed" if scenario == "mission" else "0 lost",
            f"{counts['retried']} retried",
            every if scenario == "mission" else counts["lost"] == 0 and counts["rejected"] == 0,
        )
    )
    thr = m["throughput"]
    bound_text = (
        f"{bound_s:.2f}/s = {slots_note} / {bound['meanDexMs']:.0f} ms DEX"
        if bound_s
        else f"∞ (DEX time {bound['meanDexMs']:.1f} ms)"
    )
    if scenario == "mission":
        rows.append(
            Row(
                "throughput",
                f"{thr['perMinute']:.1f}/min over {thr['windowS']:.0f} s (incl. the drain)",
                f"{result['config'].get('ratePerMin') or USER_ORDERS_PER_MIN:.0f}/min offered,"
                " all served",
                f"{bound_s * 60:.0f}/min = {slots_note} / {bound['meanDexMs']:.0f} ms"
                if bound_s
                else bound_text,
                every and thr["windowS"] <= result["config"]["durationS"] + 15,
            )
        )
    elif scenario == "burst":
        share = thr["perSecond"] / bound_s if bound_s else None
        rows.append(
            Row(
                "throughput (first POST -> last terminal event)",
                f"{thr['perSecond']:.2f}/s ({thr['perMinute']:.0f}/min) in {thr['windowS']:.1f} s",
                "",
                bound_text + (f": {share:.1%} of it" if share is not None else ""),
            )
        )
        ideal = thr["zeroOverheadPerSecond"]
        ideal_share = thr["perSecond"] / ideal if ideal else None
        rows.append(
            Row(
                "  vs a zero-overhead engine, same DEX times",
                f"{ideal_share:.1%}" if ideal_share is not None else "-",
                f">= {BURST_BOUND_SHARE:.0%}",
                f"{ideal:.2f}/s: c / t made exact for {counts['submitted']} orders"
                if ideal
                else "",
                None if ideal_share is None else ideal_share >= BURST_BOUND_SHARE,
            )
        )
    elif scenario == "sweep":
        offered = (result["config"]["ratePerMin"] or 0) / 60
        rows.append(
            Row(
                "throughput at zero DEX latency",
                f"{thr['perSecond']:.1f}/s in {thr['windowS']:.1f} s",
                f"{offered:g}/s offered",
                f"Node.js: {NODE_ORDERS_PER_S:.0f}/s",
                thr["perSecond"] >= 0.95 * offered,
            )
        )
    else:
        rows.append(
            Row(
                "throughput at zero DEX latency",
                f"{thr['perSecond']:.1f}/s in {thr['windowS']:.1f} s",
                "as high as it goes",
                f"Node.js: {NODE_ORDERS_PER_S:.0f}/s",
                None,
            )
        )
        unloaded = m.get("unloaded", {})
        if unloaded:
            rows.append(
                Row(
                    "end to end, unloaded (one at a time) p50 / p95",
                    _pcts(unloaded, ("p50", "p95")),
                    "",
                    f"Node.js p50: {NODE_UNLOADED_P50_MS:.0f} ms",
                )
            )
    e2e = lat["endToEnd"]
    rows.append(
        Row(
            "end to end p50 / p95 / p99",
            _pcts(e2e),
            "",
            f"DEX time {bound['meanDexMs']:.0f} ms mean",
        )
    )
    for status in ("pending", "routing", "building", "submitted", "confirmed"):
        if status in lat["toStatus"]:
            rows.append(
                Row(f"  time to {status} p50 / p95", _pcts(lat["toStatus"][status], ("p50", "p95")))
            )
    over = lat["overhead"]
    over_first = lat["overheadFirstAttempt"]
    rows.append(
        Row(
            "engine overhead p50 / p95 / p99",
            _pcts(over),
            f"p99 < {MISSION_OVERHEAD_P99_MS:.0f} ms" if scenario == "mission" else "",
            "0 ms",
            _check(over["p99"], (over["p99"] or 0) < MISSION_OVERHEAD_P99_MS)
            if scenario == "mission"
            else None,
        )
    )
    if over_first["n"] != over["n"]:
        rows.append(
            Row("  first-attempt orders only", _pcts(over_first), "", "retries wait a back-off")
        )
    if scenario != "mission" and m.get("slotMs"):
        rows.append(
            Row(
                "  slot time besides DEX: in the order p50 / p95",
                _pcts(m["slotMs"]["inSlotOverhead"], ("p50", "p95")),
                "",
                "transitions, landing check",
            )
        )
    # Only while orders wait for slots is a start right after an end a hand-over.
    if scenario in ("burst", "engine") and m.get("slotMs"):
        rows.append(
            Row(
                "  slot time besides DEX: hand-over p50 / p95",
                _pcts(m["slotMs"]["handOverGap"], ("p50", "p95")),
                "",
                "one order's end -> next start",
            )
        )
    post = lat["post"]
    rows.append(Row("POST latency p50 / p99", _pcts(post, ("p50", "p99"))))
    rows.append(
        Row(
            "peak executing at once",
            str(m["peakExecuting"]),
            f"= {slots} (all slots busy)" if scenario == "burst" else f"≤ {slots}",
            f"{slots_note}",
            (
                m["peakExecuting"] == slots
                if scenario == "burst"
                else m["peakExecuting"] <= (slots or 0)
            )
            if slots
            else None,
        )
    )
    lag = lat["deliveryLag"]
    rows.append(
        Row(
            "WebSocket delivery lag p50 / p99",
            _pcts(lag, ("p50", "p99")),
            f"p99 < {MISSION_LAG_P99_MS:.0f} ms" if scenario == "mission" else "",
            "`at` is truncated to ms: +0..1 ms",
            _check(lag["p99"], (lag["p99"] or 0) < MISSION_LAG_P99_MS)
            if scenario == "mission"
            else None,
        )
    )
    stream = m["stream"]
    defects = stream["missing"] + stream["duplicated"] + stream["outOfOrder"]
    rows.append(
        Row(
            "stream defects missing / duplicated / out of order",
            f"{stream['missing']} / {stream['duplicated']} / {stream['outOfOrder']}"
            + (f" (stream closed: {stream['closedEarly']})" if stream["closedEarly"] else ""),
            "0",
            f"{stream['events']} events received",
            defects == 0,
        )
    )
    if "sockets" in m:
        sockets, fire = m["sockets"], m["firehose"]
        rows.append(
            Row(
                "status sockets complete (terminal event, then 1000)",
                f"{sockets['complete']} of {sockets['sockets']}",
                "all",
                f"{sockets['errors']} ended in an error",
                sockets["incomplete"] == 0,
            )
        )
        rows.append(
            Row(
                "firehose beside them: missing / duplicated",
                f"{fire['missing']} / {fire['duplicated']}"
                + (f" (closed: {fire['closedEarly']})" if fire["closedEarly"] else ""),
                "0, or told it fell behind",
                f"{fire['events']} events, {fire['fellBehindNotices']} fell-behind notices",
                fire["missing"] == 0 or fire["fellBehindNotices"] > 0,
            )
        )
    per_order = cpu["msPerOrder"]
    if per_order.get("engine") is not None:
        rows.append(
            Row(
                "CPU per order: web + workers",
                f"{per_order['engine']:.2f} ms ({per_order.get('web', 0):.2f} web + "
                f"{per_order.get('workers', 0):.2f} workers)",
                "",
                f"Node.js: {NODE_CPU_MS_PER_ORDER} ms, all processes",
            )
        )
        if "postgres" in per_order:
            all_ms = per_order["engine"] + per_order["postgres"] + per_order.get("redis", 0)
            rows.append(
                Row(
                    "CPU per order: + PostgreSQL + Redis",
                    f"{all_ms:.2f} ms ({per_order['postgres']:.2f} PostgreSQL + "
                    f"{per_order.get('redis', 0):.2f} Redis)",
                )
            )
    else:
        rows.append(Row("CPU per order: web + workers", "not measured (--url without pids)"))
    share = cpu["clientCoreShare"]
    rows.append(
        Row(
            "load client CPU per order (core share)",
            f"{per_order['client']:.2f} ms ({share:.0%} of a core)",
            f"< {CLIENT_BOUND_SHARE:.0%} of a core",
            "else the client limits the run",
            share < CLIENT_BOUND_SHARE,
        )
    )
    return rows


def render(result: dict[str, Any], console: Console) -> None:
    table = Table(title=result["label"], title_justify="left", show_lines=False)
    for column in ("figure", "measured", "target", "bound / bar", ""):
        table.add_column(column, overflow="fold")
    for row in rows_for(result):
        mark = "" if row.ok is None else ("[green]✓[/]" if row.ok else "[red]✗[/]")
        table.add_row(row.figure, row.value, row.target, row.bound, mark)
    console.print(table)
    for note in result.get("notes", []):
        console.print(f"  [dim]{note}[/]")
    for process, summary in result.get("profile", {}).items():
        _render_profile(process, summary, console)


def _render_profile(process: str, summary: dict[str, Any], console: Console) -> None:
    """Where a process's Python time went: by library, and the engine's own functions."""
    table = Table(title=f"py-spy: {process} ({summary['samples']} samples)", title_justify="left")
    table.add_column("self time by library")
    table.add_column("share", justify="right")
    table.add_column("inclusive time of")
    table.add_column("share", justify="right")
    areas = summary["selfByArea"][:10]
    watched = list(summary.get("watched", {}).items())[:10]
    for index in range(max(len(areas), len(watched))):
        area = areas[index] if index < len(areas) else ("", None)
        watch = watched[index] if index < len(watched) else ("", None)
        table.add_row(
            area[0],
            f"{area[1]:.1%}" if area[1] is not None else "",
            watch[0],
            f"{watch[1]:.1%}" if watch[1] is not None else "",
        )
    console.print(table)


def render_scale_out(results: list[dict[str, Any]], console: Console) -> None:
    """Burst throughput by number of worker processes, and the ratio to one worker."""
    table = Table(title="scale-out: burst by worker processes", title_justify="left")
    for column in (
        "workers",
        "slots",
        "throughput /s",
        "x first",
        "bound c/t /s",
        "zero-overhead engine /s",
        "x first",
        "measured / zero-overhead",
    ):
        table.add_column(column, justify="right")
    first = results[0]["metrics"]["throughput"]
    for result in results:
        m = result["metrics"]
        thr, bound = m["throughput"], m["bound"]
        ideal = thr["zeroOverheadPerSecond"] or 0.0
        table.add_row(
            str(result["config"]["workers"]),
            str(bound["slots"]),
            f"{thr['perSecond']:.2f}",
            f"{thr['perSecond'] / first['perSecond']:.2f}",
            f"{bound['perSecond'] or 0:.2f}",
            f"{ideal:.2f}",
            f"{ideal / first['zeroOverheadPerSecond']:.2f}"
            if first["zeroOverheadPerSecond"]
            else "-",
            f"{thr['perSecond'] / ideal:.1%}" if ideal else "-",
        )
    console.print(table)


def save(result: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = result["label"].split(",")[0].replace(" ", "-")
    path = directory / f"{name}-{stamp}-w{result['config'].get('workers', 'x')}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True))
    return path


def markdown(result: dict[str, Any]) -> str:
    """The same table as ``render``, as Markdown (for docs/PERFORMANCE.md)."""
    lines = [
        f"**{result['label']}** ({result['startedAt']})",
        "",
        "| figure | measured | target | bound / bar | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows_for(result):
        mark = "" if row.ok is None else ("✓" if row.ok else "✗")
        cells = [row.figure.strip(), row.value, row.target, row.bound, mark]
        indent = "&nbsp;&nbsp;" if row.figure.startswith("  ") else ""
        cells[0] = indent + cells[0]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    lines.extend(f"\n_{note}_" for note in result.get("notes", []))
    return "\n".join(lines)
