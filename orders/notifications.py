"""The one place that pushes order events to WebSocket clients.

An event is appended to the Redis event stream (``orders.event_stream``), from which
every web process's hub fans it out to its sockets. Publishing is best effort by
design: clients replay from the database and use ``seq`` to notice gaps. A failed send
is logged and never fails an order.

Events go out in batches: whatever queued up while the previous batch was on its way
goes in one pipelined round trip, so a busy worker pays one Redis call for many events.

The backlog of unsent events is bounded. While Redis is slow (a reply may take up
to 30 s) a process keeps publishing; holding every event until Redis answers
would grow without limit in every worker and web process. Beyond
``ENGINE_PUBLISH_BACKLOG`` events a publish is dropped and counted instead: a dropped
live event costs a client one backfill from the database, a process out of memory costs
every order it holds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aredis
from django.conf import settings

from orders import aio, event_stream

logger = logging.getLogger(__name__)

WAIT_TIMEOUT_S = 1.0
# Events per pipelined XADD round trip, at most.
BATCH_MAX = 256
# How often a process retries adding its dropped count to Redis while Redis fails.
DROPPED_FLUSH_EVERY_S = 10.0


# The send itself; tests put a fake Redis here.
append_events = event_stream.append


def dropped_counter_key() -> str:
    """The Redis key counting dropped live events across all of one engine's processes.

    Engines sharing a Redis are told apart by their queue, as their event streams are.
    """
    queue = settings.ORDER_QUEUE
    return "engine:events:dropped" if queue == "orders" else f"engine:events:{queue}:dropped"


class Notifier(Protocol):
    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None: ...


@dataclass(frozen=True)
class BacklogCounts:
    """What one process's backlog has done so far (for tests and debugging)."""

    pending: int  # accepted, not yet sent (or failed)
    sent: int  # went to Redis (or failed there, logged)
    dropped: int  # refused because the backlog was full
    unflushed: int  # dropped, not yet added to the Redis counter


@dataclass(slots=True)
class _Item:
    message: dict[str, Any]
    # Set once the message is in Redis; only for ``wait=True``.
    done: concurrent.futures.Future[None] | None = None


class _Backlog:
    """One process loop's bounded FIFO of events and the one task that sends them.

    Admission is decided in the caller's thread under a lock, before anything reaches the
    loop: a full backlog costs the caller a counter increment, and the loop's own queue of
    callbacks cannot grow behind it either. ``pending`` counts an event until its send is
    over, so the one Redis is stuck on counts too.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.loop = loop
        self.limit = limit
        self._lock = threading.Lock()
        self._pending = 0
        self._sent = 0
        self._dropped = 0
        self._unflushed = 0
        self._burst = 0  # dropped since the backlog last had room
        self._flusher_running = False
        # Created on the loop, so they belong to it (see _enqueue).
        self._queue: asyncio.Queue[_Item] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._flush_now: asyncio.Event | None = None
        self._redis: aredis.Redis | None = None  # for the dropped counter
        self._stream: aredis.Redis | None = None  # for the events

    def counts(self) -> BacklogCounts:
        with self._lock:
            return BacklogCounts(self._pending, self._sent, self._dropped, self._unflushed)

    def offer(self, item: _Item) -> bool:
        """Queue ``item`` if there is room; otherwise count it dropped. Never blocks."""
        with self._lock:
            if self._pending >= self.limit:
                self._dropped += 1
                self._unflushed += 1
                self._burst += 1
                starting = self._burst == 1
                start_flusher = not self._flusher_running
                self._flusher_running = True
            else:
                self._pending += 1
                # Inside the lock: the loop receives events in the order they were admitted.
                try:
                    self.loop.call_soon_threadsafe(self._enqueue, item)
                except RuntimeError:  # the loop is closed: nothing will send it
                    self._pending -= 1
                    raise
                return True
        if starting:
            logger.warning(
                "publish backlog full (%d): dropping live events; "
                "clients recover from the database by seq",
                self.limit,
            )
        if start_flusher:
            self.loop.call_soon_threadsafe(self._start_flusher)
        return False

    # --- on the loop ---------------------------------------------------------------------

    def _enqueue(self, item: _Item) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.limit)
        self._queue.put_nowait(item)  # never full: admission counted it
        if self._sender is None or self._sender.done():
            self._sender = self.loop.create_task(self._drain(self._queue))

    async def _drain(self, queue: asyncio.Queue[_Item]) -> None:
        # Ends when the queue is empty (``_enqueue`` starts the next one): an idle process
        # keeps no task pending, which would be reported as destroyed when it exits.
        while not queue.empty():
            batch = [queue.get_nowait() for _ in range(min(queue.qsize(), BATCH_MAX))]
            try:
                await self._send([item.message for item in batch])
            except Exception:  # the sender must outlive any one batch
                logger.exception("could not publish %d events", len(batch))
            finally:
                for item in batch:
                    self._sent_one()  # first: a caller that waited sees its event counted
                    if item.done is not None and not item.done.done():
                        item.done.set_result(None)

    def _sent_one(self) -> None:
        with self._lock:
            self._pending -= 1
            self._sent += 1
            # Half empty before the burst is over: a backlog hovering at its limit would
            # otherwise log a start and an end for every event.
            ended = self._burst if self._burst and self._pending <= self.limit // 2 else 0
            if ended:
                self._burst = 0
        if ended:
            logger.warning("publish backlog has room again: dropped %d live events", ended)
            if self._flush_now is not None:
                self._flush_now.set()

    async def _send(self, messages: list[dict[str, Any]]) -> None:
        if self._stream is None:
            self._stream = event_stream.connect()
        try:
            await append_events(self._stream, messages)
        except Exception:
            first = messages[0]
            logger.warning(
                "publish failed for %d events (first: order %s seq %s)",
                len(messages),
                first.get("orderId"),
                first.get("seq"),
                exc_info=True,
            )
            # The next batch starts on a new connection (and the current REDIS_URL).
            client, self._stream = self._stream, None
            with contextlib.suppress(Exception):
                await client.aclose()

    def _start_flusher(self) -> None:
        if self._flush_now is None:
            self._flush_now = asyncio.Event()
        self.loop.create_task(self._flush_dropped(self._flush_now))

    async def _flush_dropped(self, flush_now: asyncio.Event) -> None:
        """Add the dropped count to Redis when a burst ends, and every few seconds until then.

        Runs beside the sender, so a Redis that hangs delays the count, never the events.
        It ends once nothing is left to add and no burst is going on.
        """
        while True:
            with self._lock:
                if not self._unflushed and not self._burst:
                    self._flusher_running = False
                    return
                ongoing = bool(self._burst)
            if ongoing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DROPPED_FLUSH_EVERY_S):
                        await flush_now.wait()
                flush_now.clear()
            if not await self._add_dropped():
                await asyncio.sleep(DROPPED_FLUSH_EVERY_S)

    async def _add_dropped(self) -> bool:
        with self._lock:
            count, self._unflushed = self._unflushed, 0
        if not count:
            return True
        try:
            if self._redis is None:
                self._redis = aredis.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
                )
            await self._redis.incrby(dropped_counter_key(), count)
            return True
        except Exception:
            logger.warning(
                "could not add %d dropped live events to Redis; retrying in %g s",
                count,
                DROPPED_FLUSH_EVERY_S,
                exc_info=True,
            )
            with self._lock:
                self._unflushed += count
            # The next attempt starts from a fresh connection (and the current REDIS_URL).
            client, self._redis = self._redis, None
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
            return False


class StreamNotifier:
    """Sends from the process's long-lived loop, in call order, through a bounded backlog.

    Services use ``default_notifier()``, so a process has one backlog. It is keyed by PID:
    a forked Celery child has its own loop (``orders.aio``) and needs its own backlog.
    """

    def __init__(self) -> None:
        self._backlogs: dict[int, _Backlog] = {}

    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None:
        """Send in the background; ``wait`` blocks until Redis has it (at most 1 s).

        ``wait`` is for an event published by one process before another process can
        publish the next one (``pending`` before the task is queued): without it the
        stream could show ``routing`` before ``pending``. A full backlog drops the event
        at once, waiting or not.
        """
        try:
            item = _Item(message, concurrent.futures.Future() if wait else None)
            if not self._backlog().offer(item) or item.done is None:
                return
            started = time.monotonic()
            try:
                item.done.result(timeout=WAIT_TIMEOUT_S)
            except concurrent.futures.TimeoutError:
                logger.warning(
                    "event of order %s seq %s not sent within %.1f s; it stays queued",
                    message.get("orderId"),
                    message.get("seq"),
                    time.monotonic() - started,
                )
        except Exception:
            logger.exception("could not publish event of order %s", message.get("orderId"))

    def counts(self) -> BacklogCounts:
        """This process's backlog so far."""
        return self._backlog().counts()

    def _backlog(self) -> _Backlog:
        loop = aio.background_loop()
        pid = os.getpid()
        backlog = self._backlogs.get(pid)
        if backlog is None or backlog.loop is not loop:
            with _create_lock:
                backlog = self._backlogs.get(pid)
                if backlog is None or backlog.loop is not loop:
                    backlog = self._backlogs[pid] = _Backlog(loop, settings.ENGINE_PUBLISH_BACKLOG)
        return backlog


# Two threads publishing the first event must share one notifier and one backlog. A child
# forked while another thread held the lock would wait forever: it gets a fresh one.
_create_lock = threading.Lock()


def _new_create_lock() -> None:
    global _create_lock
    _create_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_create_lock)


class NullNotifier:
    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None:
        return None


_default: StreamNotifier | None = None


def default_notifier() -> StreamNotifier:
    """The process's notifier, and so its one backlog: a worker's order threads and the
    web's slot threads may ask for it first at the same moment."""
    global _default
    if _default is None:
        with _create_lock:
            if _default is None:
                _default = StreamNotifier()
    return _default
