"""Clients as a trading bot writes them: POST an order, then follow its own status socket.

Each of N clients does that in a closed loop, one order at a time, so N orders are in
flight; every client holds its own keep-alive HTTP connection and opens one WebSocket
per order (``/api/orders/status/<orderId>``), read until the server closes it after the
terminal event. What each socket delivered is kept, timestamped, for the analysis.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.stream import TERMINAL, peek


@dataclass
class FollowRecord:
    """What one order's status socket delivered."""

    order_id: str
    opened: float = 0.0
    closed: float = 0.0
    close_code: int | None = None
    error: str | None = None
    statuses: list[str] = field(default_factory=list)


class SocketFollower:
    """Follows orders' status sockets; ``messages`` and ``terminal_at`` as the stream's."""

    def __init__(self, ws_url: str) -> None:
        self.base = ws_url.rstrip("/") + "/api/orders/status/"
        self.messages: list[tuple[float, str]] = []
        self.terminal_at: dict[str, float] = {}
        self.records: list[FollowRecord] = []

    async def follow(self, order_id: str, *, limit_s: float) -> FollowRecord:
        record = FollowRecord(order_id)
        self.records.append(record)
        append = self.messages.append
        record.opened = time.time()
        try:
            async with asyncio.timeout(limit_s):
                async with connect(
                    self.base + order_id, compression=None, max_size=None, max_queue=None
                ) as socket:
                    try:
                        async for text in socket:
                            now = time.time()
                            append((now, str(text)))
                            _, status = peek(str(text))
                            record.statuses.append(status)
                            if status in TERMINAL:
                                self.terminal_at.setdefault(order_id, now)
                    except ConnectionClosed:
                        pass
                    record.close_code = socket.close_code
        except Exception as exc:  # recorded: the analysis counts what never arrived
            record.error = f"{type(exc).__name__}: {exc}"
        record.closed = time.time()
        return record

    def summary(self) -> dict[str, int]:
        """Sockets that ended as the contract says (terminal event, then 1000), and not."""
        complete = sum(
            1
            for r in self.records
            if r.statuses and r.statuses[-1] in TERMINAL and r.close_code == 1000
        )
        return {
            "sockets": len(self.records),
            "complete": complete,
            "incomplete": len(self.records) - complete,
            "errors": sum(1 for r in self.records if r.error),
        }
