"""StreamNotifier's backlog: bounded, in order, counted, and never in the order's way.

A fake event stream stands in for Redis; its ``append`` can hang (an asyncio.Event on
the process's background loop) the way a pipelined XADD does while Redis does not
answer. tests/faults/test_slow_redis.py does the same against a paused redis-server.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from orders import aio, notifications
from orders.notifications import WAIT_TIMEOUT_S, StreamNotifier


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
    return value


def event(seq: int, order_id: str = "o-1") -> dict[str, Any]:
    return {"orderId": order_id, "seq": seq, "status": "routing"}


class FakeStream:
    """Records what reaches the stream; ``hang()`` holds every send until ``heal()``."""

    def __init__(self) -> None:
        self.loop = aio.background_loop()
        self._open = asyncio.Event()
        self._open.set()
        self.entered = threading.Event()  # a send is under way (and hanging, if hung)
        self.sent: list[dict[str, Any]] = []
        self.fail = False

    def hang(self) -> None:
        self.entered.clear()
        self._on_loop(self._open.clear)

    def heal(self) -> None:
        self._on_loop(self._open.set)

    def _on_loop(self, function: Callable[[], None]) -> None:
        done = threading.Event()

        def call() -> None:
            function()
            done.set()

        self.loop.call_soon_threadsafe(call)
        assert done.wait(5)

    def seqs(self) -> list[int]:
        return [message["seq"] for message in self.sent]

    async def append(self, client: Any, messages: list[dict[str, Any]]) -> None:
        self.entered.set()
        await self._open.wait()
        if self.fail:
            raise ConnectionError("redis is gone")
        self.sent.extend(messages)


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStream]:
    fake = FakeStream()
    monkeypatch.setattr(notifications, "append_events", fake.append)
    try:
        yield fake
    finally:
        fake.heal()  # nothing may stay stuck on the shared loop


@pytest.fixture
def dropped_in_redis(redis_client: redis.Redis) -> Iterator[Callable[[], int]]:
    """The engine-wide dropped counter (this test run's queue has its own key)."""
    key = notifications.dropped_counter_key()
    redis_client.delete(key)
    yield lambda: int(redis_client.get(key) or 0)
    redis_client.delete(key)


def drained(notifier: StreamNotifier) -> None:
    """Wait until every accepted event is sent: until then a full backlog still drops."""
    wait_until(lambda: notifier.counts().pending == 0, "the backlog to drain")


def tasks_on_the_loop() -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())

    return aio.run(count(), timeout=5)


def test_the_backlog_never_holds_more_than_its_bound(layer, settings):
    settings.ENGINE_PUBLISH_BACKLOG = 5
    notifier = StreamNotifier()
    before = tasks_on_the_loop()
    layer.hang()
    notifier.publish(event(1))
    assert layer.entered.wait(5)  # event 1 is stuck in Redis

    for seq in range(2, 101):
        notifier.publish(event(seq))

    # One sender (and one task adding up drops), not one waiting coroutine per event.
    assert tasks_on_the_loop() - before <= 2
    counts = notifier.counts()
    assert (counts.pending, counts.dropped) == (5, 95)

    layer.heal()
    drained(notifier)
    notifier.publish(event(101), wait=True)
    assert layer.seqs() == [1, 2, 3, 4, 5, 101]  # the first five, in order; then new ones
    assert notifier.counts().pending == 0


def test_drops_are_logged_once_per_burst_and_added_up_in_redis(
    layer, settings, dropped_in_redis, caplog
):
    settings.ENGINE_PUBLISH_BACKLOG = 2
    notifier = StreamNotifier()
    caplog.set_level(logging.WARNING, logger="orders.notifications")

    def burst(first_seq: int) -> None:
        layer.hang()
        notifier.publish(event(first_seq))
        assert layer.entered.wait(5)
        for seq in range(first_seq + 1, first_seq + 11):  # 1 more fits, 9 are dropped
            notifier.publish(event(seq))
        layer.heal()
        drained(notifier)

    burst(1)
    wait_until(lambda: dropped_in_redis() == 9, "the first burst's drops in Redis")
    burst(20)
    wait_until(lambda: dropped_in_redis() == 18, "both bursts' drops in Redis")

    lines = [r.getMessage() for r in caplog.records if r.name == "orders.notifications"]
    full = [line for line in lines if line.startswith("publish backlog full (2)")]
    room = [line for line in lines if "room again" in line]
    assert len(full) == 2, lines
    assert room == ["publish backlog has room again: dropped 9 live events"] * 2
    assert "clients recover from the database by seq" in full[0]
    notifier.publish(event(40), wait=True)
    assert layer.seqs() == [1, 2, 20, 21, 40]
    assert notifier.counts().dropped == 18


def test_the_count_reaches_redis_even_if_redis_refused_it_at_first(
    layer, settings, dropped_in_redis, monkeypatch, caplog
):
    settings.ENGINE_PUBLISH_BACKLOG = 1
    monkeypatch.setattr(notifications, "DROPPED_FLUSH_EVERY_S", 0.05)
    good_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens: INCRBY fails
    caplog.set_level(logging.WARNING, logger="orders.notifications")
    notifier = StreamNotifier()
    layer.hang()
    notifier.publish(event(1))
    assert layer.entered.wait(5)
    for seq in range(2, 5):
        notifier.publish(event(seq))
    layer.heal()
    drained(notifier)
    wait_until(
        lambda: any("could not add 3 dropped" in r.getMessage() for r in caplog.records),
        "a failed attempt to add the drops",
    )
    assert dropped_in_redis() == 0

    settings.REDIS_URL = good_url  # the next attempt connects again, to a live Redis
    wait_until(lambda: dropped_in_redis() == 3, "the retried count in Redis")
    assert notifier.counts().unflushed == 0


def test_wait_returns_within_about_a_second_when_redis_hangs(layer):
    notifier = StreamNotifier()
    layer.hang()
    started = time.monotonic()
    notifier.publish(event(1), wait=True)
    elapsed = time.monotonic() - started
    assert WAIT_TIMEOUT_S * 0.9 <= elapsed < WAIT_TIMEOUT_S + 4
    assert layer.sent == []

    layer.heal()  # the event stayed queued: it goes out once Redis answers
    drained(notifier)
    notifier.publish(event(2), wait=True)
    assert layer.seqs() == [1, 2]


def test_wait_returns_once_redis_has_the_event(layer):
    notifier = StreamNotifier()
    for seq in range(1, 4):
        notifier.publish(event(seq), wait=True)
        assert layer.seqs() == list(range(1, seq + 1))  # already sent, not just queued


def test_a_full_backlog_drops_a_waiting_publish_at_once(layer, settings):
    settings.ENGINE_PUBLISH_BACKLOG = 1
    notifier = StreamNotifier()
    layer.hang()
    notifier.publish(event(1))
    assert layer.entered.wait(5)
    started = time.monotonic()
    notifier.publish(event(2), wait=True)
    assert time.monotonic() - started < WAIT_TIMEOUT_S
    assert notifier.counts().dropped == 1


def test_failed_or_malformed_sends_never_reach_the_caller_or_stop_the_sender(layer, caplog):
    notifier = StreamNotifier()
    layer.fail = True
    notifier.publish(event(1), wait=True)  # logged, not raised
    notifier.publish({"seq": 2}, wait=True)  # no orderId: the send itself raises
    layer.fail = False
    notifier.publish(event(3), wait=True)
    assert layer.seqs() == [3]
    assert any("first: order o-1 seq 1" in r.getMessage() for r in caplog.records)
    assert notifier.counts().pending == 0


def test_publish_never_raises_when_there_is_no_loop(monkeypatch, caplog):
    def broken() -> asyncio.AbstractEventLoop:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(aio, "background_loop", broken)
    StreamNotifier().publish(event(1))
    StreamNotifier().publish(event(1), wait=True)
    assert len([r for r in caplog.records if "could not publish" in r.getMessage()]) == 2


def test_a_forked_child_gets_its_own_loop_and_backlog(layer, settings):
    settings.ENGINE_PUBLISH_BACKLOG = 3
    notifier = StreamNotifier()
    layer.hang()
    notifier.publish(event(1))  # the parent's backlog is stuck
    assert layer.entered.wait(5)
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()

    def child() -> None:
        # Threads do not survive fork: the parent's loop and its hung send are not here,
        # and the parent's layer belongs to the parent's loop.
        own = FakeStream()
        notifications.append_events = own.append
        notifier.publish(event(2), wait=True)
        child_end.send((own.seqs(), notifier.counts().pending))

    process = context.Process(target=child)
    process.start()
    try:
        assert parent_end.poll(20), "the child did not answer"
        assert parent_end.recv() == ([2], 0)
    finally:
        process.join(10)
    assert process.exitcode == 0
    assert notifier.counts().pending == 1  # the parent's event still waits for its Redis


def test_threads_asking_for_the_default_notifier_at_once_share_one(monkeypatch):
    """One notifier, so one backlog per process, however many threads ask first."""
    monkeypatch.setattr(notifications, "_default", None)
    build = StreamNotifier.__init__

    def slow_init(self: StreamNotifier) -> None:
        build(self)
        time.sleep(0.01)  # wide enough for every racing thread to see no notifier yet

    monkeypatch.setattr(StreamNotifier, "__init__", slow_init)
    start = threading.Barrier(8)
    got: list[StreamNotifier] = []

    def ask() -> None:
        start.wait()
        got.append(notifications.default_notifier())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(got) == 8
    assert len({id(notifier) for notifier in got}) == 1
