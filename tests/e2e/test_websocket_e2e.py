"""Live status over real WebSockets: daphne, a Celery worker, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 100}


async def read_until_closed(socket: Any, timeout: float = 30) -> tuple[list[dict], int | None]:
    messages = []
    try:
        async with asyncio.timeout(timeout):
            async for raw in socket:
                messages.append(json.loads(raw))
    except ConnectionClosed:
        pass
    return messages, socket.close_code


def assert_complete_story(messages: list[dict], order_id: str) -> None:
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert all(m["orderId"] == order_id for m in messages)
    statuses = [m["status"] for m in messages]
    assert statuses == ["pending", "routing", "building", "submitted", "confirmed"], statuses
    assert messages[1]["quotes"] and messages[1]["dex"]
    assert messages[-1]["txHash"] and messages[-1]["amountOut"]


def test_five_orders_at_once_each_stream_is_complete_and_in_order(live_engine):
    async def follow(order_id: str) -> tuple[list[dict], int | None]:
        async with connect(f"{live_engine.ws_url}/api/orders/status/{order_id}") as socket:
            return await read_until_closed(socket)

    async def scenario() -> list[tuple[str, list[dict], int | None]]:
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(
            *(
                loop.run_in_executor(None, live_engine.request, "POST", "/api/orders/execute", BODY)
                for _ in range(5)
            )
        )
        order_ids = [answer["orderId"] for status, answer in answers if status == 201]
        assert len(order_ids) == 5
        stories = await asyncio.gather(*(follow(order_id) for order_id in order_ids))
        return [(oid, msgs, code) for oid, (msgs, code) in zip(order_ids, stories, strict=True)]

    for order_id, messages, code in asyncio.run(scenario()):
        assert code == 1000
        assert_complete_story(messages, order_id)


def test_the_execute_socket_takes_an_order_and_streams_it_to_confirmed(live_engine):
    async def scenario() -> tuple[dict, list[dict], int | None]:
        async with connect(f"{live_engine.ws_url}/api/orders/execute") as socket:
            await socket.send(json.dumps(BODY))
            created = json.loads(await socket.recv())
            messages, code = await read_until_closed(socket)
            return created, messages, code

    created, messages, code = asyncio.run(scenario())
    assert code == 1000
    assert_complete_story(messages, created["orderId"])


def test_a_late_client_still_gets_the_whole_story(live_engine):
    status, answer = live_engine.request("POST", "/api/orders/execute", BODY)
    assert status == 201
    live_engine.wait_terminal(answer["orderId"])

    async def scenario() -> tuple[list[dict], int | None]:
        url = f"{live_engine.ws_url}/api/orders/status/{answer['orderId']}"
        async with connect(url) as socket:
            return await read_until_closed(socket)

    messages, code = asyncio.run(scenario())
    assert code == 1000
    assert_complete_story(messages, answer["orderId"])
