"""One reader of the event stream per web process, fanning events out to its sockets.

Every socket of a process shares one blocking ``XREAD`` of a batch of entries, instead
of each holding its own channel-layer subscription: a thousand sockets cost one Redis
read per batch, and an event's text is encoded once, by its publisher.

A socket subscribes before it replays the database (``subscribe`` returns once the
reader knows where the stream ends), so an event is either in the replay or read
live: the consumer drops what it already sent by ``seq``. While Redis fails the reader
retries once a second; when it reads again, every subscriber gets a resync (events
published meanwhile may be lost: the database has them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

import redis.asyncio as aredis

from orders import event_stream
from orders.event_stream import StreamEvent

logger = logging.getLogger(__name__)

READ_COUNT = 500
BLOCK_MS = 5000
RETRY_S = 1.0
IDLE_STOP_S = 10.0
RESYNC: dict[str, Any] = {"type": "order.resync"}


class Inbox:
    """What one socket has yet to handle: events and resyncs, as consumer messages.

    ``limit`` bounds it (the firehose): past it, further events are not queued and
    ``overflowed`` is set; the consumer tells its client and closes.
    """

    __slots__ = ("_queue", "limit", "overflowed")

    def __init__(self, *, limit: int | None = None) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.limit = limit
        self.overflowed = False

    def put(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.limit is not None and self._queue.qsize() >= self.limit:
            self.overflowed = True
            self._queue.put_nowait({"type": "stream.overflow"})
            return
        self._queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    def get_nowait(self) -> dict[str, Any] | None:
        """The next message if one is queued already, else None."""
        return None if self._queue.empty() else self._queue.get_nowait()


class EventHub:
    """The stream's reader for one event loop (daphne has one; tests have one per test)."""

    def __init__(self) -> None:
        self._orders: dict[str, set[Inbox]] = {}
        self._everything: set[Inbox] = set()
        self._task: asyncio.Task[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._positioned: asyncio.Future[str | None] | None = None
        self.cursor: str | None = None  # the last entry read (or the stream's end)

    @property
    def reader(self) -> asyncio.Task[None] | None:
        """The task reading the stream, while there is one."""
        return self._task

    async def subscribe(self, inbox: Inbox, *, order_id: str | None) -> str | None:
        """Deliver ``order_id``'s events (every event if None) to ``inbox`` from now on.

        Returns the position the reader has reached (every later event reaches
        ``inbox``), or None while Redis is unavailable (the inbox gets a resync once it is
        back).
        """
        if order_id is None:
            self._everything.add(inbox)
        else:
            self._orders.setdefault(order_id, set()).add(inbox)
        self._cancel_idle()
        if self._task is None or self._task.done():
            # Done: the last reader died of a bug (logged); its subscribers may have missed
            # events, so the new one resyncs them first.
            died = self._task is not None
            loop = asyncio.get_running_loop()
            self._positioned = loop.create_future()
            self._task = loop.create_task(self._read(self._positioned, resync=died))
        assert self._positioned is not None
        if await asyncio.shield(self._positioned) is None:
            return None
        # Where the reader is now, not where it started: a firehose that falls behind
        # before its first event resumes from here.
        return self.cursor

    def unsubscribe(self, inbox: Inbox, *, order_id: str | None) -> None:
        if order_id is None:
            self._everything.discard(inbox)
        else:
            inboxes = self._orders.get(order_id)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._orders[order_id]
        if not self._orders and not self._everything and self._task is not None:
            # Nobody listens: stop reading after a while (an idle process holds no
            # blocking read), not at once: one order at a time would otherwise pay a new
            # connection and a position lookup per socket.
            self._cancel_idle()
            self._idle_timer = asyncio.get_running_loop().call_later(IDLE_STOP_S, self._stop)

    def _stop(self) -> None:
        self._idle_timer = None
        if self._task is not None and not self._orders and not self._everything:
            self._task.cancel()
            self._task = None

    def _cancel_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def _read(self, positioned: asyncio.Future[str | None], *, resync: bool) -> None:
        # Its own connection: a cancelled reader closing up must not close its successor's.
        client: aredis.Redis | None = None
        failing = resync  # as after a Redis failure: a resync once it reads
        cursor: str | None = None
        try:
            while True:
                try:
                    if client is None:
                        client = event_stream.connect()
                    if cursor is None:
                        cursor = await event_stream.latest_cursor(client)
                        self.cursor = cursor
                        if not positioned.done():
                            positioned.set_result(cursor)
                    # After a failure, a read that does not wait: the resync goes out now.
                    events = await event_stream.read_after(
                        client, cursor, count=READ_COUNT, block_ms=None if failing else BLOCK_MS
                    )
                except asyncio.CancelledError:
                    raise
                except Exception:
                    if not failing:
                        logger.warning("event stream unavailable; retrying", exc_info=True)
                    failing = True
                    if not positioned.done():
                        positioned.set_result(None)
                    # The next attempt starts on a new connection (and the current REDIS_URL).
                    await _close(client)
                    client = None
                    await asyncio.sleep(RETRY_S)
                    continue
                if failing:
                    failing = False
                    logger.info("event stream readable again; resyncing sockets")
                    self._broadcast(RESYNC)
                if events:
                    cursor = self.cursor = events[-1].cursor
                    self._dispatch(events)
        except asyncio.CancelledError:
            raise
        except BaseException:
            logger.exception("event stream reader died; the next socket starts a new one")
            raise
        finally:
            if not positioned.done():
                positioned.set_result(None)
            await _close(client)

    def _dispatch(self, events: list[StreamEvent]) -> None:
        orders, everything = self._orders, self._everything
        for event in events:
            message = {"type": "order.event", "event": event}
            for inbox in orders.get(event.order_id, ()):
                inbox.put(message)
            for inbox in everything:
                inbox.put(message)

    def _broadcast(self, message: dict[str, Any]) -> None:
        for inboxes in self._orders.values():
            for inbox in inboxes:
                inbox.put(message)
        for inbox in self._everything:
            inbox.put(message)


async def _close(client: aredis.Redis | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            await client.aclose()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventHub] = weakref.WeakKeyDictionary()


def event_hub() -> EventHub:
    """The running loop's hub."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = EventHub()
    return hub
