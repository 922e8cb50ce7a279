"""WebSocket doors: replay an order's stored events, then forward its live ones.

The channel layer is at-most-once, so the database is the source of truth: a consumer
joins the order's group first, replays what is stored, drops live events it already
sent (by ``seq``) and backfills from the database when it sees a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, connections

from orders import selectors, services
from orders.api.parsers import loads_strict
from orders.api.serializers import validate_order_body
from orders.models import Order
from orders.notifications import ALL_ORDERS_GROUP, order_group
from orders.payloads import event_message
from orders.submit_quota import submit_quota_take
from orders.ws_quota import SocketSlot, claim_socket, client_ip, release_socket

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
# 1013 ("try again later") would be the standard code, but daphne's autobahn only lets a
# server send 1000 or 3000-4999; 4503 mirrors HTTP 503.
CLOSE_TRY_AGAIN = 4503
TERMINAL = {Order.Status.CONFIRMED, Order.Status.FAILED}


def off_loop(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run a database call in a worker thread and give its connection back afterwards.

    Not Channels' ``database_sync_to_async``: that runs every consumer's queries on one
    shared thread, so while PostgreSQL is unreachable one socket waiting for a
    connection stalls every other socket's handshake.
    """

    def call(*args: Any) -> T:
        try:
            return function(*args)
        finally:
            connections.close_all()  # back to the pool

    return sync_to_async(call, thread_sensitive=False)


@off_loop
def _load_order(order_id: str) -> Order | None:
    return selectors.order_get(order_id=order_id)


@off_loop
def _stored_messages(order: Order, after_seq: int) -> list[dict[str, Any]]:
    order_id = str(order.order_id)
    return [
        event_message(event, order_id=order_id)
        for event in selectors.order_events(order=order, after_seq=after_seq)
    ]


@off_loop
def _create_order(fields: dict[str, Any]) -> Order:
    order, _ = services.order_create(**fields)
    return order


_take_submit_quota = sync_to_async(submit_quota_take, thread_sensitive=False)


class QuotaConsumer(AsyncWebsocketConsumer):
    """Accepts a socket only within the client's quota, and survives Redis restarts.

    The quota slot is freed when the consumer ends for any reason (a crashed consumer
    never receives ``websocket.disconnect``). A channel-layer read that fails (Redis
    restarting) becomes an ``order.resync`` message once a second instead of killing
    the socket: the consumer re-joins its groups, which a restart empties, and
    subclasses backfill from the database. Until a re-join succeeds the consumer keeps
    resyncing once a second without reading: a read that succeeds because Redis came
    back would otherwise block for ever on groups the restart emptied.
    """

    quota_slot: SocketSlot | None = None
    groups_joined: tuple[str, ...] = ()
    needs_rejoin = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release_quota()

    async def _release_quota(self) -> None:
        slot, self.quota_slot = self.quota_slot, None
        if slot is not None:
            await release_socket(slot)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its per-message ``aclose_old_connections`` hop.

        Every query here runs through ``off_loop``, which returns its own connection,
        so that thread hop per delivered event (measured at ~6 % of daphne's time
        under load, on the firehose alone) buys nothing.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    @property
    def channel_receive(self) -> Any:
        return self._resilient_channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        self._layer_receive = receive

    async def _resilient_channel_receive(self) -> dict[str, Any]:
        if not self.needs_rejoin:
            try:
                message: dict[str, Any] = await self._layer_receive()
                return message
            except Exception:
                logger.warning("channel layer unavailable; retrying in 1 s", exc_info=True)
                self.needs_rejoin = True
        await asyncio.sleep(1)
        return {"type": "order.resync"}

    async def join(self, group: str) -> None:
        """Join ``group``; if Redis is down right now, the resync loop joins it later.

        A socket that connects just as Redis goes away must not crash (close 1011): it
        is served from the database meanwhile, as after a failed read.
        """
        self.groups_joined = (*self.groups_joined, group)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            logger.warning("channel layer unavailable at join; resyncing", exc_info=True)
            self.needs_rejoin = True

    async def order_resync(self, message: dict[str, Any]) -> None:
        try:
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            logger.info("channel layer still unavailable", exc_info=True)
            self.needs_rejoin = True
        else:
            self.needs_rejoin = False

    async def accept_within_quota(self) -> bool:
        await self.accept()
        ip = client_ip(self.scope)
        allowed, self.quota_slot = await claim_socket(ip)
        if not allowed:
            await self.send(
                text_data=json.dumps(
                    {"error": f"too many open sockets from {ip}; close some and retry"}
                )
            )
            await self.close(code=CLOSE_TOO_MANY)
            return False
        return True

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group, self.channel_name)
        await self._release_quota()


class OrderStreamMixin(QuotaConsumer):
    """Follows one order: replay, then live, each ``seq`` exactly once, then close 1000."""

    order: Order | None = None
    last_sent = 0

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    async def follow(self, order: Order) -> None:
        self.order = order
        await self.join(order_group(str(order.order_id)))
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

    async def order_resync(self, message: dict[str, Any]) -> None:
        """Live events may have been lost while the layer was down: the database has them."""
        await super().order_resync(message)
        if self.order is not None:
            try:
                await self._send_stored()
            except DatabaseError:
                logger.warning("resync: database unavailable", exc_info=True)


class OrderStatusConsumer(OrderStreamMixin):
    """``ws://HOST/api/orders/status/<orderId>``."""

    async def connect(self) -> None:
        raw_id = self.scope["url_route"]["kwargs"]["order_id"]
        if not await self.accept_within_quota():
            return
        try:
            order = await _load_order(raw_id)
        except DatabaseError:
            logger.warning("status socket: database unavailable", exc_info=True)
            await self.send_json({"error": "temporarily unavailable; reconnect shortly"})
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        if order is None:
            await self.send_json({"error": f"no order {raw_id!r}"})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.follow(order)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # nothing to say to a status socket; keep-alive text is ignored


class OrderExecuteConsumer(OrderStreamMixin):
    """``ws://HOST/api/orders/execute``: the first message is the order body."""

    refused = False

    async def connect(self) -> None:
        await self.accept_within_quota()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.order is not None or self.refused:
            return  # one order per connection; later messages are ignored
        # Counted like a POST, before validation: both doors share one quota per client.
        retry_after = await _take_submit_quota(client=client_ip(self.scope))
        if retry_after is not None:
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
            return
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
        try:
            order = await _create_order(fields)
        except DatabaseError:
            logger.warning("execute socket: database unavailable", exc_info=True)
            await self.send_json({"error": "temporarily unavailable; nothing was stored"})
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.send_json({"orderId": str(order.order_id), "status": order.status})
        await self.follow(order)

    async def _refuse(self, errors: dict[str, Any]) -> None:
        self.refused = True
        await self.send_json({"error": "invalid order", "errors": _plain(errors)})
        await self.close(code=CLOSE_BAD_REQUEST)


class OrderFeedConsumer(QuotaConsumer):
    """``ws://HOST/api/orders/stream``: every event of every order, live."""

    async def connect(self) -> None:
        if await self.accept_within_quota():
            await self.join(ALL_ORDERS_GROUP)

    async def order_event(self, envelope: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(envelope["event"]))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None


def _plain(errors: dict[str, Any]) -> dict[str, Any]:
    """DRF's ErrorDetail strings as plain JSON."""
    return json.loads(json.dumps(errors, default=str))
