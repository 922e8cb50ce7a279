"""The one place that pushes order events to WebSocket clients.

Publishing is best effort by design: the channel layer is at-most-once, so clients
replay from the database and use ``seq`` to notice gaps. A failed send is logged and
never fails an order.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Protocol

from channels.layers import get_channel_layer

from orders import aio

logger = logging.getLogger(__name__)

ALL_ORDERS_GROUP = "orders.all"
EVENT_MESSAGE_TYPE = "order.event"
WAIT_TIMEOUT_S = 1.0


def order_group(order_id: str) -> str:
    return f"order.{order_id}"


class Notifier(Protocol):
    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None: ...


class ChannelsNotifier:
    """Sends from the process's long-lived loop, in call order (one lock, FIFO)."""

    def __init__(self) -> None:
        # Keyed by PID: a forked Celery child has its own loop and needs its own lock.
        self._locks: dict[int, asyncio.Lock] = {}

    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None:
        """Send in the background; ``wait`` blocks until Redis has it (at most 1 s).

        ``wait`` is for an event published by one process before another process can
        publish the next one (``pending`` before the task is queued): without it the
        stream could show ``routing`` before ``pending``.
        """
        try:
            if wait:
                aio.run(self._send(message), timeout=WAIT_TIMEOUT_S)
            else:
                aio.submit(self._send(message))
        except Exception:
            logger.exception("could not publish event of order %s", message.get("orderId"))

    async def _send(self, message: dict[str, Any]) -> None:
        lock = self._locks.setdefault(os.getpid(), asyncio.Lock())
        layer = get_channel_layer()
        if layer is None:
            return
        envelope = {"type": EVENT_MESSAGE_TYPE, "event": message}
        async with lock:
            for group in (order_group(message["orderId"]), ALL_ORDERS_GROUP):
                try:
                    await layer.group_send(group, envelope)
                except Exception:
                    logger.warning(
                        "publish to %s failed for order %s seq %s",
                        group,
                        message.get("orderId"),
                        message.get("seq"),
                        exc_info=True,
                    )


class NullNotifier:
    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None:
        return None


_default: ChannelsNotifier | None = None


def default_notifier() -> ChannelsNotifier:
    global _default
    if _default is None:
        _default = ChannelsNotifier()
    return _default
