"""Real processes for end-to-end tests: daphne and a Celery worker on the test database."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from dex.network import MockNetwork
from launcher.commands import monitor_command, web_command, worker_command
from launcher.processes import free_port, spawn_group, stop_groups

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = db.get("HOST") or "", db.get("PORT") or ""
    if host.startswith("/"):  # a Unix socket directory (embedded PostgreSQL)
        return f"postgresql://{auth}/{db['NAME']}?host={quote(host)}" + (
            f"&port={port}" if port else ""
        )
    return f"postgresql://{auth}{host}:{port or 5432}/{db['NAME']}"


def transactions_sent(order_id: str) -> int:
    """How many transactions of this order the mock network accepted (read from Redis)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    network = MockNetwork(
        client=client,
        seed=0,
        venues={},
        failure_rate=0,
        execute_latency_s=(0, 0),
        blockhash_ttl_s=60,
    )
    try:
        return network.transaction_count(order_id)
    finally:
        client.close()


@dataclass
class LiveEngine:
    base_url: str
    ws_url: str
    env: dict[str, str]
    logs: Path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def wait_terminal(self, order_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, order = self.request("GET", f"/api/orders/{order_id}")
            if order["status"] in ("confirmed", "failed"):
                return order
            time.sleep(0.1)
        raise AssertionError(f"order {order_id} did not finish in {timeout} s")


def _wait_for(predicate: Any, what: str, processes: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:4]} exited early while waiting for {what}")
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def live_engine(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveEngine]:
    with django_db_blocker.unblock():
        database_url = test_database_url()
    port = free_port()
    logs = tmp_path_factory.mktemp("engine-logs")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engine_project.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        # Its own queue: orders that in-process tests create must not reach this worker.
        "ORDER_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-e2e",
        "ORDER_CONCURRENCY": "10",
        "DEX_QUOTE_LATENCY_MS": "50",
        "DEX_EXECUTE_LATENCY_MS": "400-600",
        "ORDER_RETRY_BACKOFF_S": "0.2",
        "LOG_LEVEL": "INFO",
    }
    worker_log = logs / "worker.log"
    web_log = (logs / "web.log").open("wb")  # closed in the finally below
    worker_out = worker_log.open("wb")
    web = spawn_group(web_command(port=port, bind="127.0.0.1"), env=env, output=web_log)
    worker = spawn_group(
        worker_command(concurrency=10, node_name=f"e2e-{os.getpid()}@%h", alone=True),
        env=env,
        output=worker_out,
    )
    processes = [web, worker]
    base_url = f"http://127.0.0.1:{port}"

    def web_up() -> bool:
        try:
            with urllib.request.urlopen(base_url + "/livez", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        _wait_for(web_up, "daphne", processes, timeout=30)
        _wait_for(lambda: b" ready." in worker_log.read_bytes(), "the worker", processes, 60)
        yield LiveEngine(base_url, f"ws://127.0.0.1:{port}", env, logs)
    finally:
        stop_groups(processes, grace_s=20)
        web_log.close()
        worker_out.close()


Monitor = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def start_monitor(live_engine: LiveEngine, tmp_path: Path) -> Iterator[Monitor]:
    """Start price monitors for the live engine (each call one more); all stop after."""
    started: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"monitor-{len(started)}.log").open("wb")
        logs.append(log)
        env = {**live_engine.env, "MONITOR_TICK_MS": "50"}
        process = spawn_group(monitor_command(), env=env, output=log)
        started.append(process)
        return process

    yield start
    stop_groups(started, grace_s=5)
    for log in logs:
        log.close()
