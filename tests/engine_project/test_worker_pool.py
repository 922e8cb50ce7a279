"""The worker's thread pool wakes the worker's event loop once a task has acknowledged."""

from __future__ import annotations

import select
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings

from engine_project.worker_pool import WakingThreadPool


class RecordingHub:
    """What the pool uses of kombu's hub: a reader callback per descriptor."""

    def __init__(self) -> None:
        self.readers: dict[int, Callable[..., Any]] = {}

    def add_reader(self, fd: int, callback: Callable[..., Any], *args: Any) -> None:
        self.readers[fd] = callback


@pytest.fixture
def pool() -> Iterator[tuple[WakingThreadPool, RecordingHub]]:
    pool = WakingThreadPool(limit=2)
    hub = RecordingHub()
    pool.register_with_event_loop(hub)
    yield pool, hub
    pool.on_stop()


def _readable(fd: int, timeout: float) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def test_a_finished_task_wakes_the_loop_after_its_callback(pool) -> None:
    pool, hub = pool
    [wake_fd] = hub.readers
    release = threading.Event()
    seen: list[str] = []

    def task() -> str:
        release.wait(10)
        return "done"

    pool.apply_async(task, callback=lambda result: seen.append(f"acked {result}"))
    assert not _readable(wake_fd, 0.2), "woke before the task ended"
    release.set()
    assert _readable(wake_fd, 10), "the loop was not woken"
    assert seen == ["acked done"]  # the ack happened before the wake-up
    hub.readers[wake_fd]()  # the loop reads the wake-ups away
    assert not _readable(wake_fd, 0)


def test_a_failing_task_wakes_the_loop_too(pool) -> None:
    pool, hub = pool
    [wake_fd] = hub.readers
    seen: list[object] = []

    def task() -> None:
        raise ValueError("boom")

    pool.apply_async(task, callback=seen.append)
    assert _readable(wake_fd, 10)


def test_many_wake_ups_never_block_a_task(pool) -> None:
    pool, hub = pool
    [wake_fd] = hub.readers
    for _ in range(100_000):  # more than a pipe holds, nobody reading
        pool.wake_loop()
    assert _readable(wake_fd, 0)
    hub.readers[wake_fd]()
    assert not _readable(wake_fd, 0)


def test_workers_use_it_by_default() -> None:
    assert settings.ORDER_WORKER_POOL == "threads"
    assert settings.CELERY_WORKER_POOL == "engine_project.worker_pool:WakingThreadPool"


def test_a_workers_database_pool_has_a_connection_for_every_order_thread(monkeypatch) -> None:
    from types import SimpleNamespace

    from engine_project.celery import pool_for_every_order_thread

    pool_options = {"min_size": 1, "max_size": 5}
    monkeypatch.setitem(settings.DATABASES["default"]["OPTIONS"], "pool", pool_options)
    pool_for_every_order_thread(sender="w@h", instance=SimpleNamespace(concurrency=50))
    assert pool_options["max_size"] == 50
    pool_for_every_order_thread(sender="w@h", instance=SimpleNamespace(concurrency=3))
    assert pool_options["max_size"] == 50  # never smaller than configured
