"""WebSocket consumers through the real ASGI application, Redis channel layer and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from engine_project.asgi import application
from orders.models import Order, OrderEvent
from orders.notifications import StreamNotifier
from orders.services import swap_steps
from orders.services.execution import order_execute

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def in_thread(function: Callable[[], Any]) -> Any:
    """Run sync engine code beside the consumer, closing its DB connection after."""

    def call() -> Any:
        try:
            return function()
        finally:
            connection.close()

    return await asyncio.get_running_loop().run_in_executor(None, call)


async def receive_all(communicator: WebsocketCommunicator, timeout: float = 10) -> list[dict]:
    """Every message until the server closes; returns them and checks the close code."""
    messages = []
    while True:
        output = await communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            communicator.close_code = output.get("code", 1000)
            return messages
        messages.append(json.loads(output["text"]))


async def connect(path: str, headers: list | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def test_a_client_that_connects_after_confirmed_gets_the_whole_story(make_order, make_gateway):
    order = make_order()
    order_execute(order_pk=order.pk, notifier=StreamNotifier(), dex=make_gateway())

    async def scenario() -> tuple[list[dict], int]:
        communicator = await connect(f"/api/orders/status/{order.public_id}")
        messages = await receive_all(communicator)
        return messages, communicator.close_code

    messages, code = run(scenario())
    assert code == 1000
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert [m["status"] for m in messages] == [
        "pending",
        "routing",
        "building",
        "submitted",
        "confirmed",
    ]
    assert all(m["orderId"] == str(order.public_id) for m in messages)
    routing, confirmed = messages[1], messages[-1]
    assert set(routing["quotes"]) == {"raydium", "meteora"} and routing["dex"]
    assert confirmed["txHash"] and confirmed["amountOut"] and confirmed["executedPrice"]


class Routing(NamedTuple):
    """An order whose first delivery crashed at ``routing``, and what finishes it."""

    order: Order
    notifier: StreamNotifier
    gateway: Any


@pytest.fixture
def routing_order(make_order, make_gateway, start_delivery, crash_delivery) -> Routing:
    gateway = make_gateway(execute_latency_s=(0.3, 0.3))
    order = make_order()
    notifier = StreamNotifier()
    first_delivery = start_delivery(order, notifier=notifier, dex=gateway)
    swap_steps.route(first_delivery)  # now routing
    crash_delivery(first_delivery)
    return Routing(order, notifier, gateway)


async def follow_while_finishing(routing: Routing, *, stored: int) -> list[dict]:
    """Connect, read the ``stored`` events, finish the order meanwhile, read to the close."""
    order = routing.order
    communicator = await connect(f"/api/orders/status/{order.public_id}")
    first = [json.loads(await communicator.receive_from(5)) for _ in range(stored)]
    # Finish the order while the client is connected; events arrive live.
    finish = asyncio.ensure_future(
        in_thread(
            lambda: order_execute(order_pk=order.pk, notifier=routing.notifier, dex=routing.gateway)
        )
    )
    rest = await receive_all(communicator)
    await finish
    assert communicator.close_code == 1000
    return [*first, *rest]


def test_a_client_that_connects_mid_flight_gets_every_event_once_in_order(routing_order):
    messages = run(follow_while_finishing(routing_order, stored=1))
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert messages[-1]["status"] == "confirmed"


def test_a_client_that_connects_while_redis_is_away_is_served_to_the_end(
    routing_order, monkeypatch
):
    """Redis goes away as the socket connects: the hub cannot find the stream's end, then
    its first read fails too. No crash (was close 1011): it resyncs and backfills."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from orders import event_stream

    real_latest, real_read = event_stream.latest_cursor, event_stream.read_after
    failures: list[str] = []

    async def latest_once_down(client):
        if not failures:
            failures.append("position")
            raise RedisConnectionError("Connection closed by server.")
        return await real_latest(client)

    async def read_once_down(client, cursor, **kwargs):
        if failures == ["position"]:
            failures.append("read")
            raise RedisConnectionError("Connection closed by server.")
        return await real_read(client, cursor, **kwargs)

    monkeypatch.setattr(event_stream, "latest_cursor", latest_once_down)
    monkeypatch.setattr(event_stream, "read_after", read_once_down)

    messages = run(follow_while_finishing(routing_order, stored=2))
    assert failures == ["position", "read"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert messages[-1]["status"] == "confirmed"


@pytest.mark.parametrize("raw_id", ["3f1c0a4e-1111-4222-8333-944455556666", "not-a-uuid", "123"])
def test_an_unknown_or_malformed_id_gets_an_error_and_4404(raw_id):
    async def scenario() -> tuple[list[dict], int]:
        communicator = await connect(f"/api/orders/status/{raw_id}")
        messages = await receive_all(communicator)
        return messages, communicator.close_code

    messages, code = run(scenario())
    assert code == 4404
    assert len(messages) == 1 and "error" in messages[0]


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ("not json", "body"),
        ('{"tokenIn": "SOL"}', "tokenOut"),
        ('{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "abc"}', "amount"),
        ('{"tokenIn": "SOL", "tokenOut": "USDC", "amount": NaN}', "body"),
        ("[1, 2]", "non_field_errors"),
        ('{"tokenIn": "SOL", "tokenOut": "SOL", "amount": 1}', "tokenOut"),
    ],
)
def test_a_bad_first_message_on_the_execute_socket_is_refused_with_4400(frame, field):
    async def scenario() -> tuple[list[dict], int]:
        communicator = await connect("/api/orders/execute")
        await communicator.send_to(text_data=frame)
        messages = await receive_all(communicator)
        return messages, communicator.close_code

    messages, code = run(scenario())
    assert code == 4400
    assert field in messages[0]["errors"]
    assert Order.objects.count() == 0 and OrderEvent.objects.count() == 0


def test_the_execute_socket_creates_the_order_and_streams_it(settings):
    async def scenario() -> tuple[list[dict], int]:
        communicator = await connect("/api/orders/execute")
        body = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}
        await communicator.send_to(text_data=json.dumps(body))
        created = json.loads(await communicator.receive_from(5))
        first = json.loads(await communicator.receive_from(5))
        await communicator.disconnect()
        return [created, first], 0

    (created, first), _ = run(scenario())
    order = Order.objects.get(public_id=created["orderId"])
    assert order.status == Order.Status.PENDING
    assert (first["seq"], first["status"], first["orderId"]) == (1, "pending", created["orderId"])


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ([], True),  # scripts and bots send no Origin
        ([(b"origin", b"http://localhost:8000")], True),
        ([(b"origin", b"http://evil.example")], False),
    ],
)
def test_origin_policy(headers, accepted):
    async def scenario() -> bool:
        communicator = WebsocketCommunicator(application, "/api/orders/stream", headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert run(scenario()) is accepted


def test_the_stream_socket_forwards_every_order_event(make_order, make_gateway):
    gateway = make_gateway()

    async def scenario() -> list[dict]:
        communicator = await connect("/api/orders/stream")
        order = await database_sync_to_async(make_order)()
        await in_thread(
            lambda: order_execute(order_pk=order.pk, notifier=StreamNotifier(), dex=gateway)
        )
        seen = []
        while len(seen) < 4:
            message = json.loads(await communicator.receive_from(5))
            if message["orderId"] == str(order.public_id):
                seen.append(message)
        await communicator.disconnect()
        return seen

    statuses = [m["status"] for m in run(scenario())]
    assert statuses == ["routing", "building", "submitted", "confirmed"]


def test_a_client_over_its_socket_quota_is_refused_with_4429(settings):
    settings.WS_MAX_SOCKETS_PER_CLIENT = 2
    scope_client = (f"2001:db8::{uuid.uuid4().hex[:4]}", 5555)  # a fresh count per run

    async def scenario() -> tuple[list[bool], int, dict]:
        sockets, opened = [], []
        for _ in range(2):
            communicator = WebsocketCommunicator(application, "/api/orders/stream")
            communicator.scope["client"] = scope_client
            connected, _ = await communicator.connect()
            sockets.append(connected)
            opened.append(communicator)
        extra = WebsocketCommunicator(application, "/api/orders/stream")
        extra.scope["client"] = scope_client
        await extra.connect()
        refusal = json.loads(await extra.receive_from(5))
        close = await extra.receive_output(5)
        for communicator in opened:
            await communicator.disconnect()
        # The slots are free again.
        again = WebsocketCommunicator(application, "/api/orders/stream")
        again.scope["client"] = scope_client
        reopened, _ = await again.connect()
        await again.disconnect()
        return [*sockets, reopened], close.get("code"), refusal

    opened, code, refusal = run(scenario())
    assert opened == [True, True, True]
    assert code == 4429 and "too many" in refusal["error"]


def test_an_oversized_first_message_is_refused_without_a_crash(settings):
    async def scenario() -> tuple[list[dict], int]:
        communicator = await connect("/api/orders/execute")
        await communicator.send_to(text_data="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
        messages = await receive_all(communicator)
        return messages, communicator.close_code

    messages, code = run(scenario())
    assert code == 4400 and "body" in messages[0]["errors"]
