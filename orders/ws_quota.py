"""At most WS_MAX_SOCKETS_PER_CLIENT open WebSockets per client, across all web processes.

Each open socket is one member of its client's sorted set in Redis, scored with the time
its lease ends. The process holding the socket renews the leases of all its sockets
every ``RENEW_EVERY_S``; closing removes the member. So the count is exact for as long
as the sockets live (a set cannot go negative or count a socket twice, and no allowance
expires under an open socket), and the sockets of a process that died without saying
goodbye drop out once their leases end (``LEASE_S``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
import weakref
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger(__name__)

_KEY = "engine:ws:sockets:{}"
LEASE_S = 60.0
RENEW_EVERY_S = 20.0

# Drop ended leases, count the live ones, add this socket if there is room.
_CLAIM_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class SocketSlot:
    """One counted socket: the client's key and this socket's member in it."""

    key: str
    member: str


@dataclass
class SocketLeases:
    """The sockets one process (one event loop) holds, and the task that renews them."""

    client: aioredis.Redis
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex)
    held: dict[SocketSlot, None] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _renewer: asyncio.Task[None] | None = None

    async def claim(self, client_id: str, *, limit: int) -> SocketSlot | None:
        """Count one more socket for ``client_id``; None (nothing counted) if over ``limit``."""
        slot = SocketSlot(_KEY.format(client_id), f"{self.prefix}:{next(self._numbers)}")
        now = time.time()
        claimed = await self.client.eval(  # type: ignore[misc]
            _CLAIM_SCRIPT, 1, slot.key, now, now + LEASE_S, limit, slot.member, int(LEASE_S) + 1
        )
        if not claimed:
            return None
        self.held[slot] = None
        self._ensure_renewer()
        return slot

    async def release(self, slot: SocketSlot) -> None:
        """Uncount ``slot``; releasing it again changes nothing."""
        self.held.pop(slot, None)
        await self.client.zrem(slot.key, slot.member)

    async def renew(self) -> None:
        """Push every held socket's lease forward; keys of ended clients stay tidy."""
        slots = list(self.held)
        if not slots:
            return
        until = time.time() + LEASE_S
        async with self.client.pipeline(transaction=False) as pipe:
            for slot in slots:
                # XX: a socket released meanwhile is not brought back.
                pipe.zadd(slot.key, {slot.member: until}, xx=True)
                pipe.expire(slot.key, int(LEASE_S) + 1)
            await pipe.execute()

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while self.held:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.renew()
            except Exception:
                logger.warning("could not renew socket leases; retrying", exc_info=True)

    def stop(self) -> None:
        """Stop renewing (as a dying process would); the leases then run out in Redis."""
        if self._renewer is not None:
            self._renewer.cancel()


# One set of leases per event loop (an asyncio connection cannot cross loops).
_leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SocketLeases] = (
    weakref.WeakKeyDictionary()
)


def _process_leases() -> SocketLeases:
    loop = asyncio.get_running_loop()
    leases = _leases.get(loop)
    if leases is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5
        )
        leases = _leases[loop] = SocketLeases(client)
    return leases


def client_ip(scope: dict[str, object]) -> str:
    """The client's address as engine_project.proxy settled it."""
    client = scope.get("client") or ("unknown", 0)
    assert isinstance(client, list | tuple)
    return str(client[0])


async def claim_socket(ip: str) -> tuple[bool, SocketSlot | None]:
    """Whether one more socket of ``ip`` may open, and its slot to release when it closes.

    If Redis is unreachable the socket is allowed, uncounted: the limit protects the
    engine, it must not take the live view down with it.
    """
    try:
        slot = await _process_leases().claim(ip, limit=settings.WS_MAX_SOCKETS_PER_CLIENT)
    except Exception:
        logger.warning("socket quota unavailable; allowing %s", ip, exc_info=True)
        return True, None
    return slot is not None, slot


async def release_socket(slot: SocketSlot) -> None:
    try:
        await _process_leases().release(slot)
    except Exception:
        logger.warning("could not release socket %s; its lease runs out", slot.member)
