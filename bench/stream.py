"""The one WebSocket the client keeps: ``/api/orders/stream``, every event of every order.

One socket for all orders is the leanest client the engine allows. Messages are only
timestamped and stored while the load runs; they are parsed afterwards, except for a
cheap look at the status so the run knows when every order has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from websockets.asyncio.client import ClientConnection, connect

TERMINAL = ("confirmed", "failed")
_ID_PREFIX = '{"orderId": "'
_STATUS_KEY = '"status": "'


def peek(text: str) -> tuple[str, str]:
    """(orderId, status) of an event message without parsing the whole JSON.

    The engine serialises events with ``json.dumps`` in a fixed key order, so both sit
    near the start; anything else falls back to a real parse.
    """
    if text.startswith(_ID_PREFIX):
        found = text.find(_STATUS_KEY, 50, 120)
        if found > 0:
            start = found + len(_STATUS_KEY)
            return text[13:49], text[start : text.index('"', start)]
    message = json.loads(text)
    return str(message.get("orderId")), str(message.get("status"))


class StreamRecorder:
    """Receives the event stream; ``wait_terminal`` resolves when orders have finished."""

    def __init__(self, ws_url: str) -> None:
        self.url = ws_url.rstrip("/") + "/api/orders/stream"
        self.messages: list[tuple[float, str]] = []
        self.terminal_at: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed_reason: str | None = None
        self._wanted: set[str] = set()
        self._progress = asyncio.Event()

    async def start(self) -> None:
        # No compression: deflate would cost CPU on both ends for no benefit on loopback.
        self._socket = await connect(self.url, compression=None, max_size=None, max_queue=None)
        self._task = asyncio.create_task(self._receive(self._socket))

    async def _receive(self, socket: ClientConnection) -> None:
        append = self.messages.append
        try:
            async for text in socket:
                now = time.time()
                append((now, str(text)))
                order_id, status = peek(str(text))
                if status in TERMINAL and order_id not in self.terminal_at:
                    self.terminal_at[order_id] = now
                    if order_id in self._wanted:
                        self._wanted.discard(order_id)
                        self._progress.set()
                    waiter = self._waiters.pop(order_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)
        except Exception as exc:  # recorded, reported as lost events
            self.closed_reason = f"{type(exc).__name__}: {exc}"
        else:
            self.closed_reason = "closed by the server"
        self._progress.set()

    def terminal(self, order_id: str) -> asyncio.Future[float]:
        """A future set to the receive time of the order's terminal event."""
        loop = asyncio.get_running_loop()
        if order_id in self.terminal_at:
            future: asyncio.Future[float] = loop.create_future()
            future.set_result(self.terminal_at[order_id])
            return future
        return self._waiters.setdefault(order_id, loop.create_future())

    async def wait_all(self, order_ids: list[str], *, idle_s: float, limit_s: float) -> bool:
        """True once every order's terminal event arrived; False after ``idle_s`` seconds
        without any of them finishing, or ``limit_s`` seconds in all."""
        self._wanted = {order_id for order_id in order_ids if order_id not in self.terminal_at}
        deadline = time.monotonic() + limit_s
        while self._wanted:
            if self.closed_reason is not None:
                return False
            wait_s = min(idle_s, deadline - time.monotonic())
            if wait_s <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), wait_s)
            except TimeoutError:
                return False
        return True

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
