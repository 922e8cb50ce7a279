"""Races found while driving the engine with bursts of real requests."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import redis

pytestmark = [pytest.mark.faults]


def test_concurrent_first_throttle_checks_share_one_redis_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deterministic form of bug B4 (fixed in 26d2a1c): two first requests at once.

    Each built its own ``Redis.from_url`` client; the one overwritten was collected and
    its finaliser disconnected the pool the other request was using ("ValueError: I/O
    operation on closed file", a 500). Over HTTP the race depends on thread scheduling
    (2 of 8 concurrent first POSTs to a fresh daphne in one run); holding both threads
    inside ``Redis.from_url`` makes the interleaving certain. With the lock, the second
    thread waits and finds the client built; the barrier times out harmlessly.
    """
    from orders import submit_quota

    monkeypatch.setattr(submit_quota, "_client", None)
    created: list[redis.Redis] = []
    barrier = threading.Barrier(2, timeout=1)
    real_from_url = redis.Redis.from_url

    def from_url(*args: Any, **kwargs: Any) -> redis.Redis:
        client = real_from_url(*args, **kwargs)
        created.append(client)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # both first requests are creating the client now
        return client

    monkeypatch.setattr(redis.Redis, "from_url", from_url)
    threads = [threading.Thread(target=submit_quota._redis) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    for client in created:
        client.close()
    assert len(created) == 1, f"{len(created)} Redis clients built for one process"
