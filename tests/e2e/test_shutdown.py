"""SIGTERM to a worker is a warm shutdown: orders it is executing finish first."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal

import pytest

from launcher.commands import worker_command
from launcher.processes import spawn_group
from orders.models import Order
from orders.services.creation import order_create
from tests.conftest import RecordingNotifier
from tests.e2e.conftest import test_database_url as live_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sigterm_lets_in_flight_orders_finish(tmp_path, settings):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-shutdown"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engine_project.settings",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "ORDER_QUEUE": queue,
        "DEX_QUOTE_LATENCY_MS": "20",
        "DEX_EXECUTE_LATENCY_MS": "1500",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = spawn_group(
            worker_command(concurrency=4, node_name=f"shutdown-{os.getpid()}@%h", alone=True),
            env=env,
            output=out,
        )
        try:
            deadline = time.monotonic() + 60
            while b" ready." not in log.read_bytes():
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            settings.CELERY_TASK_DEFAULT_QUEUE = queue  # enqueue where this worker listens
            orders = [
                order_create(
                    token_in="SOL",
                    token_out="USDC",
                    amount=Decimal("1.5"),
                    slippage_bps=100,
                    notifier=RecordingNotifier(),
                )[0]
                for _ in range(4)
            ]
            ids = [order.pk for order in orders]
            while Order.objects.filter(pk__in=ids, status="submitted").count() < 4:
                assert time.monotonic() < deadline, "orders never reached submitted"
                time.sleep(0.05)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    statuses = set(Order.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {"confirmed"}, log.read_text()[-3000:]
    assert b"Warm shutdown" in log.read_bytes()
