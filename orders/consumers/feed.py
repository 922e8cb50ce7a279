"""The firehose: every order's events, live, resumable from a stream cursor."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from orders import event_stream
from orders.consumers.base import CLOSE_BAD_REQUEST, CLOSE_FELL_BEHIND, QuotaConsumer
from orders.event_hub import Inbox
from orders.event_stream import StreamEvent

logger = logging.getLogger(__name__)

REPLAY_BATCH = 1000


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
