"""Who the client is: the socket's peer, or what N trusted proxies say, never a client's header."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine_project.proxy import TrustedProxyMiddleware, client_address


@pytest.mark.parametrize(
    ("forwarded", "num_proxies", "expected"),
    [
        # No trusted proxy: the header is the client's own words.
        (["198.51.100.7"], 0, "10.0.0.1"),
        # One proxy appends the address it saw: the last entry. Earlier ones are ignored.
        (["198.51.100.7, 203.0.113.9"], 1, "203.0.113.9"),
        (["198.51.100.7", "203.0.113.9"], 1, "203.0.113.9"),
        # Two proxies: the second entry from the right is the one the outer proxy wrote.
        (["1.1.1.1, 203.0.113.9, 192.0.2.4"], 2, "203.0.113.9"),
        # A chain shorter than our proxies did not pass through all of them: keep the peer.
        (["203.0.113.9"], 2, "10.0.0.1"),
        ([], 1, "10.0.0.1"),
        # Not an address: keep the peer.
        (["203.0.113.9, not-an-ip"], 1, "10.0.0.1"),
        (["2001:db8::1"], 1, "2001:db8::1"),
    ],
)
def test_client_address(forwarded: list[str], num_proxies: int, expected: str) -> None:
    assert (
        client_address(peer="10.0.0.1", forwarded_for=forwarded, num_proxies=num_proxies)
        == expected
    )


@pytest.mark.parametrize("protocol", ["http", "websocket"])
def test_the_middleware_settles_the_client_the_same_way_for_both_protocols(protocol: str) -> None:
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    scope = {
        "type": protocol,
        "client": ("10.0.0.1", 4321),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")],
    }
    for num_proxies in (0, 1):
        asyncio.run(TrustedProxyMiddleware(app, num_proxies=num_proxies)(scope, None, None))
    assert seen == [("10.0.0.1", 4321), ("203.0.113.9", 0)]
