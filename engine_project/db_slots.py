"""A web process lets at most ``DATABASE_POOL_SIZE`` requests and sockets use the database
at once; the rest wait on the event loop, holding neither a thread nor a connection.

Without it a burst (1,000 clients POSTing at once) sent every request to a thread that
then queued on the connection pool, whose short timeout is meant to fail fast while the
database is down: a third of the burst got 503 from a database that was up. Waiting
here costs a coroutine; past ``MAX_WAIT_S`` or ``MAX_WAITING`` callers the answer is
still "busy, retry" rather than a queue without end.

Each slot owns one thread for the database calls of whoever holds it. Under ASGI, Django
otherwise starts a thread for every request (and asgiref a second one to join it on the
way out): a fifth of the web process's CPU per order went to starting and stopping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError

MAX_WAIT_S = 30.0
MAX_WAITING = 10_000


class DatabaseBusyError(OperationalError):
    """Every database slot stayed taken too long: the caller answers 503 and retry."""


@dataclass(frozen=True)
class DatabaseSlot:
    """What a holder gets: the thread its database calls run on, one call at a time
    (None without slots, i.e. no connection pool: callers keep Django's own threads)."""

    executor: ThreadPoolExecutor | None


_NO_SLOT = DatabaseSlot(executor=None)


class _Slots:
    def __init__(self, size: int) -> None:
        # The free slots, the one most recently given back first (its thread is the one
        # already running); a caller with none free waits here, first come first served.
        # Threads start on first use and live as long as the loop's slots.
        self.free: asyncio.LifoQueue[DatabaseSlot] = asyncio.LifoQueue()
        for n in range(size):
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-slot-{n}")
            self.free.put_nowait(DatabaseSlot(executor))
        self.waiting = 0


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def database_slot() -> AsyncIterator[DatabaseSlot]:
    """Hold one of the running loop's database slots for the body of the ``with``."""
    size = settings.DATABASE_POOL_SIZE
    if not size:  # no pool: nothing to queue on
        yield _NO_SLOT
        return
    loop = asyncio.get_running_loop()
    slots = _by_loop.get(loop)
    if slots is None:
        slots = _by_loop[loop] = _Slots(size)
    if slots.waiting >= MAX_WAITING:
        raise DatabaseBusyError(f"{slots.waiting} callers already wait for the database")
    slots.waiting += 1
    try:
        async with asyncio.timeout(MAX_WAIT_S):
            slot = await slots.free.get()
    except TimeoutError:
        raise DatabaseBusyError(f"no database slot within {MAX_WAIT_S:g} s") from None
    finally:
        slots.waiting -= 1
    try:
        yield slot
    finally:
        slots.free.put_nowait(slot)
