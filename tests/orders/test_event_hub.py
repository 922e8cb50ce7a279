"""The event hub: one stream reader per loop, kept a while after its last socket."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from orders import event_hub as hub_module
from orders import event_stream
from orders.event_hub import EventHub, Inbox


async def publish(order_id: str, seq: int) -> None:
    client = event_stream.connect()
    try:
        await event_stream.append(client, [{"orderId": order_id, "seq": seq, "status": "routing"}])
    finally:
        await client.aclose()


def test_events_reach_the_order_s_inboxes_and_the_firehose_only():
    async def scenario() -> tuple[list[int], list[str]]:
        hub = EventHub()
        mine, other, everything = Inbox(), Inbox(), Inbox()
        await hub.subscribe(mine, order_id="a")
        await hub.subscribe(other, order_id="b")
        await hub.subscribe(everything, order_id=None)
        await publish("a", 1)
        await publish("a", 2)
        got_mine = [(await mine.get())["event"].seq for _ in range(2)]
        got_all = [(await everything.get())["event"].order_id for _ in range(2)]
        await asyncio.sleep(0.05)
        assert other.get_nowait() is None
        for inbox, key in ((mine, "a"), (other, "b"), (everything, None)):
            hub.unsubscribe(inbox, order_id=key)
        return got_mine, got_all

    mine, everything = asyncio.run(scenario())
    assert mine == [1, 2]
    assert everything == ["a", "a"]


def test_the_reader_outlives_its_last_socket_for_a_while_then_stops(monkeypatch):
    monkeypatch.setattr(hub_module, "IDLE_STOP_S", 0.2)

    async def scenario() -> None:
        hub = EventHub()
        first = Inbox()
        await hub.subscribe(first, order_id="a")
        reader = hub.reader
        hub.unsubscribe(first, order_id="a")
        await asyncio.sleep(0.05)
        second = Inbox()
        await hub.subscribe(second, order_id="a")  # within the linger: the same reader
        assert hub.reader is reader and reader is not None and not reader.done()
        hub.unsubscribe(second, order_id="a")
        await asyncio.sleep(0.4)
        assert hub.reader is None and reader.done()

    asyncio.run(scenario())


@pytest.fixture(autouse=True)
def _own_stream(settings, request):
    settings.ORDER_QUEUE = f"hub-{request.node.name[:40]}"


def test_a_reader_that_died_is_replaced_and_its_subscribers_resynced(monkeypatch):
    async def scenario() -> tuple[str, int]:
        hub = EventHub()
        survivor = Inbox()
        await hub.subscribe(survivor, order_id="a")
        real_dispatch = hub._dispatch

        def broken(events):
            monkeypatch.setattr(hub, "_dispatch", real_dispatch)
            raise RuntimeError("a bug")

        monkeypatch.setattr(hub, "_dispatch", broken)
        await publish("a", 1)
        dead = hub.reader
        assert dead is not None
        with contextlib.suppress(RuntimeError):
            await asyncio.wait_for(dead, 5)
        newcomer = Inbox()
        await hub.subscribe(newcomer, order_id="b")
        assert hub.reader is not dead
        resync = await asyncio.wait_for(survivor.get(), 5)
        await publish("a", 2)
        live = await asyncio.wait_for(survivor.get(), 5)
        hub.unsubscribe(survivor, order_id="a")
        hub.unsubscribe(newcomer, order_id="b")
        return resync["type"], live["event"].seq

    assert asyncio.run(scenario()) == ("order.resync", 2)


def test_a_late_subscriber_is_told_where_the_reader_is_now_not_where_it_started():
    async def scenario() -> tuple[str | None, str | None, str]:
        hub = EventHub()
        early = Inbox()
        started_at = await hub.subscribe(early, order_id=None)
        for seq in (1, 2, 3):
            await publish("a", seq)
        last = [(await asyncio.wait_for(early.get(), 5))["event"].cursor for _ in range(3)][-1]
        late = Inbox()
        now_at = await hub.subscribe(late, order_id=None)
        hub.unsubscribe(early, order_id=None)
        hub.unsubscribe(late, order_id=None)
        return started_at, now_at, last

    started_at, now_at, last = asyncio.run(scenario())
    assert now_at == last != started_at
