"""The load benchmark's harness against a live engine: is its report complete and right?

No timing is asserted: the figures depend on the machine. Counts and completeness do not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 5
PERCENTILES = {"n", "p50", "p95", "p99", "mean", "max"}


def test_burst_of_five_reports_every_figure_with_right_counts(live_engine, tmp_path):
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "bench", "burst", "--orders", str(ORDERS)]
    argv += ["--url", live_engine.base_url, "--slots", "10", "--results", str(results)]
    env = {**os.environ, "COLUMNS": "200"}  # rich wraps narrower tables
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout + done.stderr

    (path,) = results.glob("*.json")
    report = json.loads(path.read_text())
    metrics = report["metrics"]
    assert report["scenario"] == "burst"
    assert metrics["counts"] == {
        "submitted": ORDERS,
        "accepted": ORDERS,
        "rejected": 0,
        "confirmed": ORDERS,
        "failed": 0,
        "lost": 0,
        "retried": metrics["counts"]["retried"],
        "allTerminalOnStream": True,
        "detailsUnread": 0,
    }
    assert {key: metrics["stream"][key] for key in ("missing", "duplicated", "outOfOrder")} == {
        "missing": 0,
        "duplicated": 0,
        "outOfOrder": 0,
    }
    # Every stored event arrived once: pending, routing, building, submitted, confirmed
    # (more if a fill was retried).
    assert metrics["stream"]["events"] == metrics["stream"]["stored"] >= ORDERS * 5

    latency = metrics["latencyMs"]
    for figure in ("endToEnd", "post", "overhead", "deliveryLag"):
        assert set(latency[figure]) == PERCENTILES, figure
        assert latency[figure]["n"] > 0, figure
    assert latency["endToEnd"]["n"] == ORDERS
    assert latency["deliveryLag"]["n"] == metrics["stream"]["events"]
    assert set(latency["toStatus"]) >= {"pending", "routing", "building", "submitted", "confirmed"}
    assert all(latency["toStatus"][s]["n"] == ORDERS for s in ("pending", "confirmed"))
    assert 1 <= metrics["peakExecuting"] <= ORDERS
    assert metrics["bound"]["slots"] == 10
    assert metrics["bound"]["meanDexMs"] > 0
    assert metrics["bound"]["perSecond"] > 0
    assert metrics["throughput"]["perSecond"] > 0
    assert metrics["cpu"]["msPerOrder"]["client"] >= 0

    printed = done.stdout
    for figure in (
        "orders confirmed / failed / lost",
        "throughput",
        "end to end p50 / p95 / p99",
        "time to confirmed",
        "engine overhead",
        "POST latency",
        "peak executing at once",
        "WebSocket delivery lag",
        "stream defects",
        "CPU per order",
        "load client CPU per order",
    ):
        assert figure in printed, figure
