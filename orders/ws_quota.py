"""At most WS_MAX_SOCKETS_PER_CLIENT open WebSockets per client IP, across all web processes.

Counted in Redis so that several daphne processes share one limit. A web process that
dies without closing its sockets leaves its counts behind; the key expires an hour after
the client's first socket, which bounds the damage.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger(__name__)

_KEY = "engine:ws:clients:{}"
_TTL_S = 3600
# One client per event loop (an asyncio connection cannot cross loops).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5
        )
        _clients[loop] = client
    return client


def client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


async def claim_socket(ip: str) -> bool:
    """Count one more socket for ``ip``; False (and nothing counted) if over the limit.

    If Redis is unreachable the socket is allowed: the limit protects the engine, it
    must not take the live view down with it.
    """
    key = _KEY.format(ip)
    try:
        count = await _client().incr(key)
        if count == 1:
            await _client().expire(key, _TTL_S)
        if count > settings.WS_MAX_SOCKETS_PER_CLIENT:
            await _client().decr(key)
            return False
    except Exception:
        logger.warning("socket quota unavailable; allowing %s", ip, exc_info=True)
        return True
    return True


async def release_socket(ip: str) -> None:
    try:
        await _client().decr(_KEY.format(ip))
    except Exception:
        logger.warning("could not release a socket of %s", ip, exc_info=True)
