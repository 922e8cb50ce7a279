"""What every order socket shares: the client's socket quota, the hub inbox, the DB hop."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import connections

from engine_project.db_slots import database_slot
from orders.event_hub import Inbox, event_hub
from orders.models import Order
from orders.ws_quota import SocketSlot, claim_socket, client_ip, release_socket

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
TERMINAL = Order.TERMINAL


def off_loop(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run a database call on a database slot's thread and give its connection back
    afterwards.

    Not Channels' ``database_sync_to_async``: that runs every consumer's queries on one
    shared thread, so while PostgreSQL is unreachable one socket waiting for a
    connection stalls every other socket's handshake.
    """

    def call(*args: Any) -> T:
        try:
            return function(*args)
        finally:
            connections.close_all()  # back to the pool

    async def admitted(*args: Any) -> T:
        # Queued on the loop, not on the pool (db_slots); without slots, any thread.
        async with database_slot() as slot:
            in_thread = sync_to_async(call, thread_sensitive=False, executor=slot.executor)
            return await in_thread(*args)

    return admitted


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

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' without its ``aclose_old_connections`` hop (see ``dispatch``);
        these consumers join no channel-layer groups."""
        await self.disconnect(message["code"])
        raise StopConsumer()

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
