"""Redis stops answering (SIGSTOP) while a process keeps publishing live events.

Nothing fails while Redis is paused: its kernel still accepts connections and bytes, so
every XADD just waits (up to the client's 30 s socket timeout). A publisher
that kept each event until Redis answered would grow with every event; this one holds at
most ``ENGINE_PUBLISH_BACKLOG`` of them, counts the rest as dropped, adds the count to
Redis once Redis is back, and delivers new events again.

The publisher is a separate process (the engine's own settings, no database) so that
its memory is measured alone; the test talks to it over its stdin and stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import ROOT, RedisServer, wait_until

pytestmark = [pytest.mark.faults]

BACKLOG = 1000
PUBLISHED_WHILE_PAUSED = 50_000
PAUSED_S = 3.0
# The backlog's own share is BACKLOG events (well under 1 MB); the rest is allocator noise.
# Keeping all 50,000 events and a coroutine for each costs over 100 MB.
MAX_GROWTH_KB = 8 * 1024

PUBLISHER = textwrap.dedent(
    """
    import dataclasses, gc, json, sys

    import django

    django.setup()

    from orders.notifications import default_notifier

    notifier = default_notifier()


    def rss_kb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])


    def event(order_id, seq):
        # About the size of a real `routing` event.
        return {
            "orderId": order_id,
            "seq": seq,
            "status": "routing",
            "attempt": 1,
            "at": "2025-01-01T00:00:00.000000+00:00",
            "dex": "raydium",
            "quotes": {
                "raydium": {"price": "151.2345", "fee": "0.0025", "amountOut": "226.85"},
                "meteora": {"price": "151.1987", "fee": "0.0030", "amountOut": "226.79"},
            },
            "txHash": None,
            "error": None,
        }


    for line in sys.stdin:
        command = json.loads(line)
        for seq in range(1, command.get("count", 0) + 1):
            notifier.publish(event(command["order"], seq), wait=command.get("wait", False))
        gc.collect()
        counts = dataclasses.asdict(notifier.counts())
        print(json.dumps({"rssKb": rss_kb(), **counts}), flush=True)
    """
)


class Publisher:
    """The engine's notifier in a process of its own, driven one JSON line at a time."""

    def __init__(self, redis_url: str, queue: str, logs: Path) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "engine_project.settings",
            "REDIS_URL": redis_url,
            "ORDER_QUEUE": queue,
            "ENGINE_PUBLISH_BACKLOG": str(BACKLOG),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = logs / "publisher.log"
        with self.log.open("ab") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", PUBLISHER],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def ask(self, timeout: float = 30, **command: Any) -> dict[str, Any]:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        assert ready, f"publisher silent for {timeout} s\n{self.log.read_text()}"
        line = self.popen.stdout.readline()
        assert line, f"publisher exited\n{self.log.read_text()}"
        return dict(json.loads(line))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.popen.stdin is not None:
                self.popen.stdin.close()
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


@pytest.fixture
def queue() -> str:
    return f"slow-redis-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def publisher(redis_server: RedisServer, queue: str, logs: Path) -> Iterator[Publisher]:
    process = Publisher(redis_server.url, queue, logs)
    try:
        yield process
    finally:
        process.stop()


def test_a_paused_redis_costs_a_bounded_backlog_and_counted_drops(
    redis_server: RedisServer, publisher: Publisher, queue: str
) -> None:
    # Warm up with Redis answering: connections open, the allocator has met a full backlog.
    publisher.ask(order="warm-up", count=BACKLOG)  # fills it, drops none
    warm = wait_until(
        lambda: (answer := publisher.ask())["pending"] == 0 and answer,
        "the warm-up events to be sent",
        timeout=30,
    )
    before_kb, sent_before = warm["rssKb"], warm["sent"]
    assert warm["dropped"] == 0

    redis_pid = redis_server.proc.popen.pid if redis_server.proc else 0
    os.kill(redis_pid, signal.SIGSTOP)
    try:
        paused_at = time.monotonic()
        during = publisher.ask(order="bulk", count=PUBLISHED_WHILE_PAUSED)
        # Be paused for a while: nothing may drain, nothing may grow.
        time.sleep(max(0.0, PAUSED_S - (time.monotonic() - paused_at)))
        still = publisher.ask()
    finally:
        os.kill(redis_pid, signal.SIGCONT)

    # At most BACKLOG events are held (the one stuck on Redis included); the rest dropped.
    assert during["pending"] == still["pending"] == BACKLOG
    assert still["sent"] == sent_before
    assert during["dropped"] == PUBLISHED_WHILE_PAUSED - BACKLOG
    assert still["rssKb"] - before_kb < MAX_GROWTH_KB, (before_kb, during, still)

    after = wait_until(
        lambda: (answer := publisher.ask())["pending"] == 0 and answer,
        "the backlog to drain after SIGCONT",
        timeout=60,
    )
    assert after["sent"] - sent_before == BACKLOG  # what was queued went out
    assert after["dropped"] + BACKLOG == PUBLISHED_WHILE_PAUSED
    with redis_server.client() as client:
        key = f"engine:events:{queue}:dropped"
        wait_until(
            lambda: int(client.get(key) or 0) == PUBLISHED_WHILE_PAUSED - BACKLOG,
            "the dropped count in Redis",
            timeout=30,
        )

    # New events reach the stream (and so every socket) again.
    assert publisher.ask(order="probe", count=1, wait=True)["pending"] == 0
    with redis_server.client() as client:
        [(_, fields)] = client.xrevrange(f"engine:events:{queue}:stream", count=1)
    message = json.loads(fields[b"d"])
    assert (message["orderId"], message["seq"]) == ("probe", 1)

    log = publisher.log.read_text()
    assert log.count(f"publish backlog full ({BACKLOG})") == 1, log
    dropped = PUBLISHED_WHILE_PAUSED - BACKLOG
    assert log.count(f"has room again: dropped {dropped} live events") == 1, log
    assert publisher.ask()["rssKb"] - before_kb < MAX_GROWTH_KB
