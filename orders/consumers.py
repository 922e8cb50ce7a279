"""WebSocket doors: replay an order's stored events, then forward its live ones.

The channel layer is at-most-once, so the database is the source of truth: a consumer
joins the order's group first, replays what is stored, drops live events it already
sent (by ``seq``) and backfills from the database when it sees a gap.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from orders import selectors, services
from orders.api.parsers import loads_strict
from orders.api.serializers import validate_order_body
from orders.models import Order
from orders.notifications import ALL_ORDERS_GROUP, order_group
from orders.payloads import event_message
from orders.ws_quota import claim_socket, client_ip, release_socket

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
TERMINAL = {Order.Status.CONFIRMED, Order.Status.FAILED}


@database_sync_to_async
def _load_order(order_id: str) -> Order | None:
    return selectors.order_get(order_id=order_id)


@database_sync_to_async
def _stored_messages(order: Order, after_seq: int) -> list[dict[str, Any]]:
    order_id = str(order.order_id)
    return [
        event_message(event, order_id=order_id)
        for event in selectors.order_events(order=order, after_seq=after_seq)
    ]


@database_sync_to_async
def _create_order(fields: dict[str, Any]) -> Order:
    order, _ = services.order_create(**fields)
    return order


class QuotaConsumer(AsyncWebsocketConsumer):
    """Accepts a socket only within the client's quota; frees the slot on disconnect."""

    counted = False

    async def accept_within_quota(self) -> bool:
        await self.accept()
        ip = client_ip(self.scope)
        if not await claim_socket(ip):
            await self.send(
                text_data=json.dumps(
                    {"error": f"too many open sockets from {ip}; close some and retry"}
                )
            )
            await self.close(code=CLOSE_TOO_MANY)
            return False
        self.counted = True
        return True

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            await release_socket(client_ip(self.scope))


class OrderStreamMixin(QuotaConsumer):
    """Follows one order: replay, then live, each ``seq`` exactly once, then close 1000."""

    order: Order | None = None
    last_sent = 0
    group: str | None = None

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    async def follow(self, order: Order) -> None:
        self.order = order
        self.group = order_group(str(order.order_id))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self._send_stored()

    async def _send_stored(self) -> None:
        assert self.order is not None
        for message in await _stored_messages(self.order, self.last_sent):
            if await self._send_event(message):
                return

    async def _send_event(self, message: dict[str, Any]) -> bool:
        """Send one event; returns True once the terminal event went out (socket closed)."""
        self.last_sent = message["seq"]
        await self.send_json(message)
        if message["status"] in TERMINAL:
            await self.close(code=CLOSE_NORMAL)
            return True
        return False

    async def order_event(self, envelope: dict[str, Any]) -> None:
        message = envelope["event"]
        if self.order is None or message["seq"] <= self.last_sent:
            return  # already replayed from the database
        if message["seq"] > self.last_sent + 1:
            await self._send_stored()  # a live message was lost: the database has it
            return
        await self._send_event(message)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await super().disconnect(code)


class OrderStatusConsumer(OrderStreamMixin):
    """``ws://HOST/api/orders/status/<orderId>``."""

    async def connect(self) -> None:
        raw_id = self.scope["url_route"]["kwargs"]["order_id"]
        if not await self.accept_within_quota():
            return
        order = await _load_order(raw_id)
        if order is None:
            await self.send_json({"error": f"no order {raw_id!r}"})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.follow(order)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # nothing to say to a status socket; keep-alive text is ignored


class OrderExecuteConsumer(OrderStreamMixin):
    """``ws://HOST/api/orders/execute``: the first message is the order body."""

    async def connect(self) -> None:
        await self.accept_within_quota()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.order is not None:
            return  # one order per connection; later messages are ignored
        if text_data is None:
            await self._refuse({"body": ["send the order as a JSON text message"]})
            return
        if len(text_data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            await self._refuse(
                {"body": [f"message larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"]}
            )
            return
        try:
            body = loads_strict(text_data)
        except (ValueError, RecursionError) as exc:
            await self._refuse({"body": [f"not valid JSON: {exc}"]})
            return
        fields, errors = validate_order_body(body)
        if errors is not None:
            await self._refuse(errors)
            return
        assert fields is not None
        order = await _create_order(fields)
        await self.send_json({"orderId": str(order.order_id), "status": order.status})
        await self.follow(order)

    async def _refuse(self, errors: dict[str, Any]) -> None:
        await self.send_json({"error": "invalid order", "errors": _plain(errors)})
        await self.close(code=CLOSE_BAD_REQUEST)


class OrderFeedConsumer(QuotaConsumer):
    """``ws://HOST/api/orders/stream``: every event of every order, live."""

    joined = False

    async def connect(self) -> None:
        if await self.accept_within_quota():
            await self.channel_layer.group_add(ALL_ORDERS_GROUP, self.channel_name)
            self.joined = True

    async def order_event(self, envelope: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(envelope["event"]))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(ALL_ORDERS_GROUP, self.channel_name)
        await super().disconnect(code)


def _plain(errors: dict[str, Any]) -> dict[str, Any]:
    """DRF's ErrorDetail strings as plain JSON."""
    return json.loads(json.dumps(errors, default=str))
