"""Who the client is, behind ``ENGINE_NUM_PROXIES`` trusted proxies, for HTTP and WebSocket.

Per-client limits (the order quota, the socket cap) key on ``scope["client"]``. With no
trusted proxy that is the socket's peer and nothing else: an ``X-Forwarded-For`` header
is the client's own words. Behind N proxies, each one appends the address it received
the connection from, so the Nth entry from the right was written by our outermost proxy
and is the first one a client cannot choose.

daphne's own ``--proxy-headers`` is not used: it takes the leftmost entry, which is
exactly the one a client can set.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Scope = dict[str, Any]

_FORWARDED_FOR = b"x-forwarded-for"


def client_address(*, peer: str | None, forwarded_for: list[str], num_proxies: int) -> str | None:
    """The client's address: ``peer`` unless ``num_proxies`` trusted proxies vouch for another.

    ``forwarded_for`` holds the values of every ``X-Forwarded-For`` header, in order. A
    chain shorter than ``num_proxies`` did not come through all of our proxies, so its
    entries may all be the client's own: the peer is kept.
    """
    if num_proxies <= 0:
        return peer
    entries = [entry.strip() for value in forwarded_for for entry in value.split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < num_proxies:
        return peer
    candidate = entries[-num_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


class TrustedProxyMiddleware:
    """ASGI middleware that rewrites ``scope["client"]`` the same way for every protocol."""

    def __init__(self, app: Any, *, num_proxies: int) -> None:
        self.app = app
        self.num_proxies = num_proxies

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if self.num_proxies > 0 and scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            forwarded = [
                value.decode("latin-1")
                for name, value in scope.get("headers", [])
                if name.lower() == _FORWARDED_FOR
            ]
            address = client_address(
                peer=peer[0] if peer else None,
                forwarded_for=forwarded,
                num_proxies=self.num_proxies,
            )
            if address is not None and (peer is None or address != peer[0]):
                scope = {**scope, "client": (address, 0)}
        return await self.app(scope, receive, send)
