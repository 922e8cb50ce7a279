"""``/api/orders/stream``: never a silent loss. Behind → told so (4410), resume by cursor."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from engine_project.asgi import application
from orders import event_stream

pytestmark = pytest.mark.django_db(transaction=True)


def events(count: int, order_id: str | None = None) -> list[dict[str, Any]]:
    order_id = order_id or str(uuid.uuid4())
    return [{"orderId": order_id, "seq": seq, "status": "routing"} for seq in range(1, count + 1)]


async def publish(messages: list[dict[str, Any]]) -> None:
    client = event_stream.connect()
    try:
        await event_stream.append(client, messages)
    finally:
        await client.aclose()


async def open_stream(query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/api/orders/stream" + query)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def until_closed(communicator: WebsocketCommunicator) -> tuple[list[dict], int]:
    messages = []
    while True:
        output = await communicator.receive_output(10)
        if output["type"] == "websocket.close":
            return messages, output.get("code", 1000)
        messages.append(json.loads(output["text"]))


async def receive(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    return [json.loads(await communicator.receive_from(10)) for _ in range(count)]


def test_every_event_reaches_the_firehose_in_order():
    async def scenario() -> list[dict]:
        stream = await open_stream()
        sent = events(30)
        await publish(sent)
        got = await receive(stream, 30)
        await stream.disconnect()
        return got

    got = asyncio.run(scenario())
    assert [m["seq"] for m in got] == list(range(1, 31))


def test_a_client_that_falls_behind_is_told_and_resumes_where_it_was(settings):
    settings.ENGINE_FIREHOSE_MAX_BEHIND = 10

    async def scenario() -> tuple[list[dict], int, list[dict]]:
        stream = await open_stream()
        sent = events(50)
        await publish(sent)  # one or two reads hand the socket more than it may hold
        before, code = await until_closed(stream)
        notice = before[-1]
        resumed = await open_stream(f"?after={notice['resumeAfter']}")
        rest = await receive(resumed, 50 - (len(before) - 1))
        await resumed.disconnect()
        return before, code, rest

    before, code, rest = asyncio.run(scenario())
    *delivered, notice = before
    assert code == 4410
    assert "fell more than 10 events behind" in notice["error"]
    assert notice["resumeAfter"] and "?after=" + notice["resumeAfter"] in notice["error"]
    # It held at most 10 behind (the first read may have brought fewer than 50).
    assert 10 <= len(delivered) < 50
    assert [m["seq"] for m in delivered] == list(range(1, len(delivered) + 1))
    # The resumed socket replays exactly what the first one missed.
    assert [m["seq"] for m in rest] == list(range(len(delivered) + 1, 51))


def test_a_resumed_client_gets_the_replay_then_live_events_once_each():
    async def scenario() -> list[dict]:
        stream = await open_stream()
        first = events(3)
        await publish(first)
        await receive(stream, 3)
        client = event_stream.connect()
        cursor = await event_stream.latest_cursor(client)
        await client.aclose()
        await stream.disconnect()
        missed = events(4)
        await publish(missed)  # while no socket is open
        resumed = await open_stream(f"?after={cursor}")
        live = events(2)
        await publish(live)
        got = await receive(resumed, 6)
        assert await resumed.receive_nothing(0.3)
        await resumed.disconnect()
        return got

    got = asyncio.run(scenario())
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 1, 2]


@pytest.mark.parametrize("cursor", ["abc", "1-", "-1", "1-2-3", "\uff11-0"])
def test_a_malformed_cursor_is_refused_with_4400(cursor):
    async def scenario() -> tuple[list[dict], int]:
        return await until_closed(await open_stream(f"?after={cursor}"))

    messages, code = asyncio.run(scenario())
    assert code == 4400
    assert messages[0]["error"].startswith("after: not a cursor")


def test_a_cursor_older_than_the_stream_keeps_is_told_to_reload():
    async def scenario() -> tuple[list[dict], int]:
        await publish(events(5))
        client = event_stream.connect()
        await client.xtrim(event_stream.stream_key(), maxlen=0, approximate=False)
        await client.aclose()
        return await until_closed(await open_stream("?after=1-0"))

    messages, code = asyncio.run(scenario())
    assert code == 4410
    assert messages == [
        {
            "error": "events after 1-0 are no longer kept; reload orders over HTTP",
            "resumeAfter": None,
        }
    ]


def test_a_malformed_event_does_not_sink_the_rest_of_its_batch(caplog):
    async def scenario() -> list[dict]:
        stream = await open_stream()
        good = events(2)
        await publish([good[0], {"seq": 9}, good[1]])  # the middle one has no orderId
        got = await receive(stream, 2)
        await stream.disconnect()
        return got

    assert [m["seq"] for m in asyncio.run(scenario())] == [1, 2]
    assert any("cannot encode event" in r.getMessage() for r in caplog.records)
