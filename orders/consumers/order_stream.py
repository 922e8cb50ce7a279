"""One order's events: replay from the database, then live, each ``seq`` exactly once."""

from __future__ import annotations

import json
import logging
import math
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError

from orders import selectors
from orders.api.serializers import validate_order_message
from orders.consumers.base import (
    CLOSE_BAD_REQUEST,
    CLOSE_NORMAL,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    CLOSE_TRY_AGAIN,
    TERMINAL,
    QuotaConsumer,
    off_loop,
)
from orders.event_stream import StreamEvent
from orders.models import Order
from orders.payloads import dumps_event, event_message
from orders.services.creation import order_create
from orders.submit_quota import submit_quota_take
from orders.ws_quota import client_ip

logger = logging.getLogger(__name__)


@off_loop
def _stored_messages(order_id: str, after_seq: int) -> list[dict[str, Any]]:
    events = selectors.order_events_by_public_id(order_id=uuid.UUID(order_id), after_seq=after_seq)
    return [event_message(event, order_id=order_id) for event in events]


@off_loop
def _create_order(fields: dict[str, Any]) -> Order:
    order, _ = order_create(**fields)
    return order


_take_submit_quota = sync_to_async(submit_quota_take, thread_sensitive=False)


class OrderStream(QuotaConsumer):
    """Follows one order: replay, then live, each ``seq`` exactly once, then close 1000."""

    order_id: str | None = None  # canonical, as events carry it
    last_sent = 0

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    async def follow(self, order_id: str) -> None:
        self.order_id = order_id
        await self.subscribe(order_id)
        await self._send_stored()

    async def _send_stored(self) -> None:
        assert self.order_id is not None
        await self._send_messages(await _stored_messages(self.order_id, self.last_sent))

    async def _send_messages(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if await self._send_event(message["seq"], message["status"], dumps_event(message)):
                return

    async def _send_event(self, seq: int, status: str, text: str) -> bool:
        """Send one event; returns True once the terminal event went out (socket closed)."""
        self.last_sent = seq
        await self.send(text_data=text)
        if status in TERMINAL:
            self._unsubscribe()
            await self.close(code=CLOSE_NORMAL)
            return True
        return False

    async def order_event(self, message: dict[str, Any]) -> None:
        event: StreamEvent = message["event"]
        if self.order_id is None or event.seq <= self.last_sent:
            return  # already replayed from the database
        if event.seq > self.last_sent + 1:
            await self._send_stored()  # a live message was lost: the database has it
            return
        await self._send_event(event.seq, event.status, event.text)

    async def order_resync(self, message: dict[str, Any]) -> None:
        """Live events may have been lost while Redis was down: the database has them."""
        if self.order_id is not None:
            try:
                await self._send_stored()
            except DatabaseError:
                logger.warning("resync: database unavailable", exc_info=True)


class OrderStatusConsumer(OrderStream):
    """``ws://HOST/api/orders/status/<orderId>``."""

    async def connect(self) -> None:
        """Subscribe, then replay: one query, which also tells an unknown order."""
        raw_id = self.scope["url_route"]["kwargs"]["order_id"]
        if not await self.accept_within_quota():
            return
        parsed = selectors.parse_order_id(raw_id)
        if parsed is None:
            await self._not_found(raw_id)
            return
        order_id = str(parsed)
        await self.subscribe(order_id)
        try:
            stored = await _stored_messages(order_id, 0)
        except DatabaseError:
            logger.warning("status socket: database unavailable", exc_info=True)
            self._unsubscribe()
            await self.send_json({"error": "temporarily unavailable; reconnect shortly"})
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        if not stored:
            self._unsubscribe()
            await self._not_found(raw_id)
            return
        self.order_id = order_id
        await self._send_messages(stored)

    async def _not_found(self, raw_id: str) -> None:
        await self.send_json({"error": f"no order {raw_id!r}"})
        await self.close(code=CLOSE_NOT_FOUND)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # nothing to say to a status socket; keep-alive text is ignored


class OrderExecuteConsumer(OrderStream):
    """``ws://HOST/api/orders/execute``: the first message is the order body."""

    refused = False

    async def connect(self) -> None:
        await self.accept_within_quota()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.order_id is not None or self.refused:
            return  # one order per connection; later messages are ignored
        # Counted like a POST, before validation: both doors share one quota per client.
        retry_after = await _take_submit_quota(client=client_ip(self.scope))
        if retry_after is not None:
            await self._too_many(retry_after)
            return
        fields, errors = validate_order_message(text_data)
        if errors is not None:
            await self._refuse(errors)
            return
        assert fields is not None
        try:
            order = await _create_order(fields)
        except DatabaseError:
            logger.warning("execute socket: database unavailable", exc_info=True)
            await self.send_json({"error": "temporarily unavailable; nothing was stored"})
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.send_json({"orderId": str(order.public_id), "status": order.status})
        await self.follow(str(order.public_id))

    async def _too_many(self, retry_after: float) -> None:
        self.refused = True
        wait_s = max(1, math.ceil(retry_after))
        await self.send_json(
            {
                "error": f"too many orders; retry in {wait_s} s",
                "errors": {"rate": [f"too many orders; retry in {wait_s} s"]},
                "retryAfter": wait_s,
            }
        )
        await self.close(code=CLOSE_TOO_MANY)

    async def _refuse(self, errors: dict[str, Any]) -> None:
        self.refused = True
        await self.send_json({"error": "invalid order", "errors": _plain(errors)})
        await self.close(code=CLOSE_BAD_REQUEST)


def _plain(errors: dict[str, Any]) -> dict[str, Any]:
    """DRF's ErrorDetail strings as plain JSON."""
    return json.loads(json.dumps(errors, default=str))
