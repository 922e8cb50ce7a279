"""The Redis stream that carries every order event from the process that stored it.

One ``XADD`` per event (pipelined per batch) replaces two channel-layer ``group_send``s:
each web process reads the stream once (``orders.event_hub``) and fans the entries out
to its own sockets, instead of Redis copying every event into one list per socket. The
entry id is a cursor: a firehose client that fell behind resumes after it.

An entry holds the event's JSON text as the sockets send it (encoded once, by the
publisher) and, beside it, the three fields the hub needs to route it without parsing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aredis
from django.conf import settings

from orders.payloads import dumps_event

logger = logging.getLogger(__name__)

# Redis answers a blocking read within its block time; this is for a Redis that hangs.
SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 2.0


def stream_key() -> str:
    """Engines sharing a Redis are told apart by their queue, as everything else is."""
    queue = settings.ORDER_QUEUE
    return "engine:events:stream" if queue == "orders" else f"engine:events:{queue}:stream"


def connect() -> aredis.Redis:
    return aredis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
    )


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One entry: its cursor, where it goes, and the text every socket sends."""

    cursor: str
    order_id: str
    seq: int
    status: str
    text: str


def encode(message: dict[str, Any]) -> dict[str, str]:
    return {
        "o": message["orderId"],
        "s": str(message["seq"]),
        "t": message["status"],
        "d": dumps_event(message),
    }


def decode(entry_id: bytes, fields: dict[bytes, bytes]) -> StreamEvent:
    return StreamEvent(
        entry_id.decode(),
        fields[b"o"].decode(),
        int(fields[b"s"]),
        fields[b"t"].decode(),
        fields[b"d"].decode(),
    )


async def append(client: aredis.Redis, messages: list[dict[str, Any]]) -> None:
    """XADD ``messages`` in order, in one round trip; the stream keeps about the last
    ``ENGINE_EVENTS_RETAINED`` entries (approximate trimming costs Redis nothing)."""
    key, retained = stream_key(), settings.ENGINE_EVENTS_RETAINED
    async with client.pipeline(transaction=False) as pipe:
        for message in messages:
            try:
                fields = encode(message)
            except (KeyError, TypeError, ValueError):  # one bad event must not sink its batch
                logger.exception("cannot encode event %r; not published", message)
                continue
            pipe.xadd(key, fields, maxlen=retained, approximate=True)  # type: ignore[arg-type]
        await pipe.execute()


async def latest_cursor(client: aredis.Redis) -> str:
    """The id of the newest entry: reading after it yields only what comes next."""
    newest = await client.xrevrange(stream_key(), count=1)
    return newest[0][0].decode() if newest else "0-0"


async def read_after(
    client: aredis.Redis, cursor: str, *, count: int, block_ms: int | None = None
) -> list[StreamEvent]:
    """Entries after ``cursor``, oldest first; with ``block_ms``, wait that long for one."""
    reply = await client.xread({stream_key(): cursor}, count=count, block=block_ms)
    if not reply:
        return []
    [(_, entries)] = reply
    return [decode(entry_id, fields) for entry_id, fields in entries]


def parse_cursor(text: str) -> tuple[int, int] | None:
    """``"1733100000000-3"`` as a comparable pair; None if it is not a stream id."""
    millis, dash, sequence = text.partition("-")
    for part in (millis, sequence):  # ASCII only: str.isdigit also takes full-width digits and "²"
        if not (part.isascii() and part.isdigit() and len(part) <= 20):
            return None
    return (int(millis), int(sequence)) if dash else None


async def trimmed_past(client: aredis.Redis, cursor: tuple[int, int]) -> bool:
    """True if entries after ``cursor`` may have been trimmed away (a replay would skip
    them): something was removed, and the stream now starts after ``cursor``."""
    try:
        info = await client.xinfo_stream(stream_key())
    except aredis.ResponseError:  # no stream yet: nothing was ever trimmed
        return False
    length = int(info.get("length", 0))
    added = info.get("entries-added")  # Redis 7; Redis 6 only tells whether it is full
    full = length >= settings.ENGINE_EVENTS_RETAINED
    removed = int(added) - length if added is not None else int(full)
    if removed <= 0:
        return False
    first = info.get("first-entry")
    # An empty stream starts after the last id it ever gave out.
    start = first[0] if first else info.get("last-generated-id", b"0-0")
    start_at = parse_cursor(start.decode() if isinstance(start, bytes) else str(start))
    if start_at is None:
        return False
    return cursor < start_at
