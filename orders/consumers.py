"""WebSocket doors: replay an order's stored events, then forward its live ones.

Live events come from the process's event hub (one reader of the Redis event stream
for every socket), which may lose events while Redis fails, so the database is the
source of truth: a consumer subscribes first, replays what is stored, drops live events
it already sent (by ``seq``) and backfills from the database when it sees a gap.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, connections

from engine_project.db_slots import database_slot
from orders import event_stream, selectors, services
from orders.api.parsers import loads_strict
from orders.api.serializers import validate_order_body
from orders.event_hub import Inbox, event_hub
from orders.event_stream import StreamEvent
from orders.models import Order
from orders.payloads import dumps_event, event_message
from orders.submit_quota import submit_quota_take
from orders.ws_quota import SocketSlot, claim_socket, client_ip, release_socket

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404
# The firehose client fell behind (or live events were lost): resume with ``?after=``.
CLOSE_FELL_BEHIND = 4410
CLOSE_TOO_MANY = 4429
# 1013 ("try again later") would be the standard code, but daphne's autobahn only lets a
# server send 1000 or 3000-4999; 4503 mirrors HTTP 503.
CLOSE_TRY_AGAIN = 4503
TERMINAL = {Order.Status.CONFIRMED, Order.Status.FAILED}
REPLAY_BATCH = 1000


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

    in_thread = sync_to_async(call, thread_sensitive=False)

    async def admitted(*args: Any) -> T:
        async with database_slot():  # queued on the loop, not on the pool (db_slots)
            return await in_thread(*args)

    return admitted


@off_loop
def _stored_messages(order_id: str, after_seq: int) -> list[dict[str, Any]]:
    events = selectors.order_events_by_public_id(order_id=uuid.UUID(order_id), after_seq=after_seq)
    return [event_message(event, order_id=order_id) for event in events]


@off_loop
def _create_order(fields: dict[str, Any]) -> Order:
    order, _ = services.order_create(**fields)
    return order


_take_submit_quota = sync_to_async(submit_quota_take, thread_sensitive=False)


class QuotaConsumer(AsyncWebsocketConsumer):
    """Accepts a socket only within the client's quota; receives live events from the hub.

    The quota slot and the hub subscription are let go when the consumer ends for any
    reason (a crashed consumer never receives ``websocket.disconnect``). Events arrive
    through ``inbox`` as the channel layer's messages would: ``order.event`` for an
    event, ``order.resync`` once the hub reads again after Redis failed.
    """

    quota_slot: SocketSlot | None = None
    inbox: Inbox
    subscribed: tuple[str | None] | None = None  # (order id,), (None,) for every order

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inbox = self.new_inbox()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._unsubscribe()
            await self._release_quota()

    def new_inbox(self) -> Inbox:
        return Inbox()

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
        return self.inbox.get

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        """Channels' layer receive is not listened to: events come from the hub."""

    async def subscribe(self, order_id: str | None) -> str | None:
        """Live events of ``order_id`` (of every order if None) from now on; returns the
        stream position they follow, or None while Redis is down (a resync follows)."""
        self.subscribed = (order_id,)
        return await event_hub().subscribe(self.inbox, order_id=order_id)

    def _unsubscribe(self) -> None:
        if self.subscribed is not None:
            event_hub().unsubscribe(self.inbox, order_id=self.subscribed[0])
            self.subscribed = None

    async def accept_within_quota(self, *, before_accept: bool = False) -> bool:
        """Accept the socket if the client may open one more; else say why and close.

        ``before_accept``: claim the slot but leave accepting to the caller (which
        subscribes first, so its client's handshake completes once it is live).
        """
        ip = client_ip(self.scope)
        allowed, self.quota_slot = await claim_socket(ip)
        if allowed and before_accept:
            return True
        await self.accept()
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
        self._unsubscribe()
        await self._release_quota()


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
        await self.follow(str(order.order_id))

    async def _refuse(self, errors: dict[str, Any]) -> None:
        self.refused = True
        await self.send_json({"error": "invalid order", "errors": _plain(errors)})
        await self.close(code=CLOSE_BAD_REQUEST)


class OrderFeedConsumer(QuotaConsumer):
    """``ws://HOST/api/orders/stream``: every event of every order, live.

    It never loses an event silently. A client that falls more than
    ``ENGINE_FIREHOSE_MAX_BEHIND`` events behind, or that was connected while Redis
    failed (events published meanwhile are lost), gets one message
    ``{"error": ..., "resumeAfter": CURSOR}`` and close code 4410; connecting again with
    ``?after=CURSOR`` replays what it missed from the stream, then goes on live. A cursor
    older than the stream keeps (``ENGINE_EVENTS_RETAINED``) is refused the same way,
    with ``resumeAfter: null``: that client reloads orders over HTTP.
    """

    cursor: str | None = None  # the last event sent, or where the stream was on connect
    replayed_to: tuple[int, int] | None = None  # drop live events up to here (a replay)

    def new_inbox(self) -> Inbox:
        return Inbox(limit=settings.ENGINE_FIREHOSE_MAX_BEHIND)

    async def connect(self) -> None:
        """Live before the handshake completes: what is published after it arrives."""
        after = _query_value(self.scope, "after")
        resume_from = event_stream.parse_cursor(after) if after is not None else None
        if not await self.accept_within_quota(before_accept=True):
            return
        if after is not None and resume_from is None:
            await self.accept()
            await self.send(text_data=json.dumps({"error": f"after: not a cursor: {after!r}"}))
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.cursor = await self.subscribe(None)
        await self.accept()
        if after is not None and resume_from is not None:
            await self._replay(after, resume_from)

    async def _replay(self, after: str, resume_from: tuple[int, int]) -> None:
        client = event_stream.connect()
        try:
            if await event_stream.trimmed_past(client, resume_from):
                await self._fell_behind(
                    f"events after {after} are no longer kept; reload orders over HTTP",
                    resume_after=None,
                )
                return
            cursor = after
            while events := await event_stream.read_after(client, cursor, count=REPLAY_BATCH):
                for event in events:
                    await self.send(text_data=event.text)
                cursor = self.cursor = events[-1].cursor
            self.replayed_to = event_stream.parse_cursor(cursor)
        except Exception:
            logger.warning("firehose replay failed", exc_info=True)
            await self._fell_behind(
                "could not replay from the event stream; retry shortly", resume_after=after
            )
        finally:
            await client.aclose()

    async def order_event(self, message: dict[str, Any]) -> None:
        await self._forward(message["event"])
        # What queued up meanwhile goes out now: one wake-up per batch, not per event.
        while (queued := self.inbox.get_nowait()) is not None:
            if queued["type"] != "order.event":
                await self.dispatch(queued)
                return
            await self._forward(queued["event"])

    async def _forward(self, event: StreamEvent) -> None:
        if self.subscribed is None:
            return  # told it fell behind and closed: what is still queued is for the resume
        if self.replayed_to is not None:
            position = event_stream.parse_cursor(event.cursor)
            if position is not None and position <= self.replayed_to:
                return  # the replay sent it
            self.replayed_to = None
        self.cursor = event.cursor
        await self.send(text_data=event.text)

    async def stream_overflow(self, message: dict[str, Any]) -> None:
        await self._fell_behind(
            f"fell more than {settings.ENGINE_FIREHOSE_MAX_BEHIND} events behind",
            resume_after=self.cursor,
        )

    async def order_resync(self, message: dict[str, Any]) -> None:
        await self._fell_behind(
            "live events may have been lost while Redis was unavailable",
            resume_after=self.cursor,
        )

    async def _fell_behind(self, reason: str, *, resume_after: str | None) -> None:
        self._unsubscribe()
        hint = f"; reconnect with ?after={resume_after}" if resume_after else ""
        await self.send(text_data=json.dumps({"error": reason + hint, "resumeAfter": resume_after}))
        await self.close(code=CLOSE_FELL_BEHIND)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None


def _query_value(scope: dict[str, Any], name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[-1] if values else None


def _plain(errors: dict[str, Any]) -> dict[str, Any]:
    """DRF's ErrorDetail strings as plain JSON."""
    return json.loads(json.dumps(errors, default=str))
