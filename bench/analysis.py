"""Turn what the client recorded into the figures of issue 4.

Definitions (docs/PERFORMANCE.md repeats them):
- end to end: POST written → the order's terminal event received on the stream;
- engine overhead: end to end - ``dexTimeMs`` (the DEX latency the order spent);
- delivery lag: the event's ``at`` (ms, truncated) → received;
- executing: from the first quote's start (``quoteStartedAt``) to the terminal event;
- bound: ``slots / mean DEX time``, what no engine with that concurrency can exceed.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.load import RunRecord

STATUSES = ("pending", "routing", "building", "submitted", "confirmed", "failed")
TERMINAL = ("confirmed", "failed")


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50/p95/p99 (linear interpolation), mean and max of ``values``, in their unit."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return {
        "n": len(ordered),
        "p50": round(at(0.50), 3),
        "p95": round(at(0.95), 3),
        "p99": round(at(0.99), 3),
        "mean": round(sum(ordered) / len(ordered), 3),
        "max": round(ordered[-1], 3),
    }


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end and a start at one time do not overlap)."""
    points = [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals]
    running = peak = 0
    for _, delta in sorted(points):
        running += delta
        peak = max(peak, running)
    return peak


@dataclass
class _Seen:
    """One event as the client received it."""

    received: float
    seq: int
    status: str
    at: float


def _stream_by_order(
    messages: list[tuple[float, str]], ours: set[str]
) -> tuple[dict[str, list[_Seen]], int]:
    seen: dict[str, list[_Seen]] = defaultdict(list)
    foreign = 0
    for received, text in messages:
        message = json.loads(text)
        order_id = message.get("orderId")
        if order_id not in ours or "seq" not in message:
            foreign += 1
            continue
        seen[order_id].append(
            _Seen(received, int(message["seq"]), message["status"], epoch(message["at"]))
        )
    return seen, foreign


def _defects(seen: list[_Seen], stored: list[int]) -> tuple[int, int, int]:
    """(missing, duplicated, out of order) events of one order on the stream."""
    counts: dict[int, int] = defaultdict(int)
    out_of_order = 0
    highest = 0
    for event in seen:
        counts[event.seq] += 1
        if counts[event.seq] == 1 and event.seq < highest:
            out_of_order += 1
        highest = max(highest, event.seq)
    duplicated = sum(count - 1 for count in counts.values())
    expected = set(stored) if stored else set(range(1, highest + 1))
    missing = len(expected - counts.keys())
    return missing, duplicated, out_of_order


def _executing_intervals(detail: dict[str, Any]) -> list[tuple[float, float]]:
    """When the order held a worker slot: each attempt, from its quote's start to its end.

    A failed attempt has no event of its own: it ends when its transaction lands
    (``submitted`` time + ``landsInMs``); the back-off before the next attempt holds no
    slot (the task is re-queued with a countdown).
    """
    intervals: list[tuple[float, float]] = []
    start: float | None = None
    lands: float | None = None
    last_at = 0.0
    for event in sorted(detail.get("events") or [], key=lambda e: int(e["seq"])):
        at = epoch(event["at"])
        details = event.get("details") or {}
        if event["status"] == "routing" and details.get("quoteStartedAt"):
            if start is not None:
                intervals.append((start, lands or last_at))
            start, lands = float(details["quoteStartedAt"]), None
        elif event["status"] == "submitted" and details.get("landsAt") is not None:
            lands = float(details["landsAt"])  # when the network lands it, absolute
        elif event["status"] == "submitted" and details.get("landsInMs") is not None:
            # Older engines: relative to a moment before `at`, so this runs a little late.
            lands = at + float(details["landsInMs"]) / 1000
        elif event["status"] in TERMINAL and start is not None:
            intervals.append((start, at))
            start = None
        last_at = at
    return intervals


def zero_overhead_makespan(dex_s: list[float], slots: int) -> float:
    """How long an engine with no cost of its own would take for a burst: every order
    arrives at once and takes a free slot for exactly its DEX time, first come first
    served. The c / t bound, made exact for a finite burst (it includes the drain)."""
    free_at = [0.0] * slots
    for seconds in dex_s:
        heapq.heappush(free_at, heapq.heappop(free_at) + seconds)
    return max(free_at)


def analyse(run: RunRecord, *, slots: int | None) -> dict[str, Any]:
    """The figures of one run as a JSON-ready dict (times in ms unless named ``...S``)."""
    accepted = [post for post in run.posts if post.order_id]
    ours = {post.order_id for post in accepted if post.order_id}
    details = run.details
    seen, foreign = _stream_by_order(run.messages, ours)

    # The stored status decides; where the detail could not be read, the stream's does.
    statuses = []
    for order_id in ours:
        if order_id in details:
            statuses.append(details[order_id]["status"])
        else:
            streamed = {event.status for event in seen.get(order_id, [])}
            statuses.append(next((s for s in TERMINAL if s in streamed), "unknown"))
    confirmed = statuses.count("confirmed")
    failed = statuses.count("failed")
    lost = len(ours) - confirmed - failed

    end_to_end: list[float] = []
    overhead: list[float] = []
    overhead_first_attempt: list[float] = []
    to_status: dict[str, list[float]] = {status: [] for status in STATUSES}
    lags: list[float] = []
    missing = duplicated = out_of_order = 0
    terminal_received: list[float] = []
    for post in accepted:
        order_id = post.order_id
        assert order_id is not None
        events = seen.get(order_id, [])
        detail = details.get(order_id, {})
        stored = [int(event["seq"]) for event in detail.get("events", [])]
        gone, twice, disordered = _defects(events, stored)
        missing, duplicated, out_of_order = (
            missing + gone,
            duplicated + twice,
            out_of_order + disordered,
        )
        first: dict[str, float] = {}
        for event in events:
            first.setdefault(event.status, event.received)
            lags.append((event.received - event.at) * 1000)
        for status, received in first.items():
            to_status[status].append((received - post.sent) * 1000)
        terminal = [first[status] for status in TERMINAL if status in first]
        if not terminal:
            continue
        terminal_received.append(min(terminal))
        total_ms = (min(terminal) - post.sent) * 1000
        end_to_end.append(total_ms)
        if "dexTimeMs" in detail:
            cost = total_ms - float(detail["dexTimeMs"])
            overhead.append(cost)
            if detail.get("attempts") == 1:
                overhead_first_attempt.append(cost)

    dex_ms = [float(detail["dexTimeMs"]) for detail in details.values() if "dexTimeMs" in detail]
    mean_dex_s = sum(dex_ms) / len(dex_ms) / 1000 if dex_ms else 0.0
    intervals = [
        interval for detail in details.values() for interval in _executing_intervals(detail)
    ]
    peak = peak_overlap(intervals)
    started = min((post.sent for post in accepted), default=run.window[0])
    # An order whose terminal event the stream lost still finished: its stored time counts.
    stored_ends = [
        epoch(event["at"])
        for detail in details.values()
        for event in detail.get("events", [])
        if event["status"] in TERMINAL
    ]
    finished = max(terminal_received + stored_ends, default=run.window[1])
    window_s = max(finished - started, 1e-9)
    per_second = confirmed / window_s

    slots_used = slots or peak or None
    bound = (slots_used / mean_dex_s) if slots_used and mean_dex_s > 0 else math.inf
    ideal_s = None
    if slots_used and dex_ms:
        in_order = [
            float(details[p.order_id]["dexTimeMs"]) / 1000
            for p in accepted
            if p.order_id in details
        ]
        ideal_s = zero_overhead_makespan(in_order, slots_used)
    slot = _slot_figures(details, intervals, slots_used)
    extra: dict[str, Any] = {}
    if run.sockets is not None:
        extra["sockets"] = run.sockets
        extra["firehose"] = _firehose(run, ours)
    cpu = run.server_cpu_s
    per_order = max(confirmed + failed, 1)  # a failed order cost CPU too
    engine_cpu = sum(cpu.get(role, 0.0) for role in ("web", "workers"))
    return {
        "counts": {
            "submitted": len(run.posts),
            "accepted": len(accepted),
            "rejected": len(run.posts) - len(accepted),
            "confirmed": confirmed,
            "failed": failed,
            "lost": lost,
            "retried": sum(1 for detail in details.values() if detail.get("attempts", 1) > 1),
            "allTerminalOnStream": run.all_terminal,
            "detailsUnread": len(ours - details.keys()),
        },
        "rejections": sorted(
            {post.error or str(post.status) for post in run.posts if not post.order_id}
        )[:5],
        "throughput": {
            "perSecond": round(per_second, 3),
            "perMinute": round(per_second * 60, 2),
            "windowS": round(window_s, 3),
            # What an engine with no cost of its own would do with the same DEX times.
            "zeroOverheadPerSecond": round(confirmed / ideal_s, 3) if ideal_s else None,
        },
        "bound": {
            "slots": slots_used,
            "slotsObserved": slots is None,
            "meanDexMs": round(mean_dex_s * 1000, 3),
            "perSecond": None if math.isinf(bound) else round(bound, 3),
        },
        "latencyMs": {
            "endToEnd": percentiles(end_to_end),
            "post": percentiles([(post.answered - post.sent) * 1000 for post in accepted]),
            "overhead": percentiles(overhead),
            "overheadFirstAttempt": percentiles(overhead_first_attempt),
            "deliveryLag": percentiles(lags),
            "toStatus": {
                status: percentiles(values) for status, values in to_status.items() if values
            },
        },
        "peakExecuting": peak,
        "slotMs": slot,
        "stream": {
            "events": sum(len(events) for events in seen.values()),
            "stored": sum(len(detail.get("events", [])) for detail in details.values()),
            "missing": missing,
            "duplicated": duplicated,
            "outOfOrder": out_of_order,
            "foreignEvents": foreign,
            "closedEarly": run.stream_closed,
        },
        "cpu": {
            "seconds": {role: round(value, 3) for role, value in cpu.items()}
            | {"client": round(run.client_cpu_s, 3)},
            "msPerOrder": {role: round(value * 1000 / per_order, 3) for role, value in cpu.items()}
            | {
                "engine": round(engine_cpu * 1000 / per_order, 3) if cpu else None,
                "client": round(run.client_cpu_s * 1000 / per_order, 3),
            },
            "clientCoreShare": round(run.client_cpu_s / window_s, 3),
        },
        **extra,
    }


def _firehose(run: RunRecord, ours: set[str]) -> dict[str, Any]:
    """What ``/api/orders/stream`` delivered of our orders while the clients ran."""
    seen, _ = _stream_by_order(run.firehose_messages or [], ours)
    by_order: dict[str, list[int]] = defaultdict(list)
    for _, text in run.messages:  # the status sockets: the events each order has
        message = json.loads(text)
        if "seq" in message:
            by_order[message["orderId"]].append(int(message["seq"]))
    missing = duplicated = 0
    for order_id in ours:
        gone, twice, _ = _defects(seen.get(order_id, []), by_order.get(order_id, []))
        missing, duplicated = missing + gone, duplicated + twice
    notices = [text for _, text in run.firehose_messages or [] if '"error"' in text[:12]]
    return {
        "events": sum(len(events) for events in seen.values()),
        "missing": missing,
        "duplicated": duplicated,
        "fellBehindNotices": len(notices),
        "closedEarly": run.stream_closed,
    }


def _slot_figures(
    details: dict[str, dict[str, Any]], intervals: list[tuple[float, float]], slots: int | None
) -> dict[str, Any]:
    """Where a worker slot's time goes besides the DEX: inside the order (transitions,
    landing detection) and between orders (ack, broker, next task's start).

    The hand-over gap pairs the k-th start with the (k - slots)-th end: while the queue
    is not empty, every start after the first ``slots`` is a freed slot taken again.
    """
    in_slot: list[float] = []
    for detail in details.values():
        held = sum(end - start for start, end in _executing_intervals(detail))
        if held and "dexTimeMs" in detail:
            in_slot.append(held * 1000 - float(detail["dexTimeMs"]))
    gaps: list[float] = []
    if slots and len(intervals) > slots:
        starts = sorted(start for start, _ in intervals)
        ends = sorted(end for _, end in intervals)
        gaps = [(starts[k] - ends[k - slots]) * 1000 for k in range(slots, len(starts))]
    return {"inSlotOverhead": percentiles(in_slot), "handOverGap": percentiles(gaps)}
