"""Per-client limits that no client can talk its way around.

- the order quota keys on the socket's peer, never on a client-set X-Forwarded-For;
- the HTTP POST and the execute WebSocket take from one quota;
- the socket cap stays exact while sockets live, and frees the sockets of a dead process.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis.asyncio as aioredis
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from engine_project.asgi import application
from orders import ws_quota
from orders.models import Order

BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}


def fresh_client() -> str:
    """An address of its own per test run: quota windows outlive a test."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def post(api, client: str, **headers: str):
    return api.post(
        "/api/orders/execute",
        json.dumps(BODY),
        content_type="application/json",
        REMOTE_ADDR=client,
        **headers,
    )


async def execute_over_websocket(client: str) -> tuple[dict, int]:
    communicator = WebsocketCommunicator(application, "/api/orders/execute")
    communicator.scope["client"] = (client, 5555)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data=json.dumps(BODY))
    first = json.loads(await communicator.receive_from(5))
    if "orderId" in first:
        await communicator.disconnect()
        return first, 0
    close = await communicator.receive_output(5)
    return first, close.get("code", 1000)


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_buy_a_fresh_quota(api, settings):
    settings.ORDER_SUBMIT_RATE = "3/min"
    client = fresh_client()
    codes = [
        post(api, client, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(6)
    ]
    assert codes == [201, 201, 201, 429, 429, 429]
    assert Order.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_execute_socket_and_the_post_share_one_quota(api, settings):
    settings.ORDER_SUBMIT_RATE = "3/min"
    client = fresh_client()
    assert [post(api, client).status_code for _ in range(2)] == [201, 201]

    accepted, code = asyncio.run(execute_over_websocket(client))
    assert code == 0 and accepted["orderId"]
    refusal, code = asyncio.run(execute_over_websocket(client))
    assert code == 4429
    assert "too many orders" in refusal["error"] and refusal["retryAfter"] >= 1
    assert "rate" in refusal["errors"]
    assert post(api, client).status_code == 429
    assert Order.objects.count() == 3  # nothing stored for either refusal


def leases_on_test_redis() -> ws_quota.SocketLeases:
    return ws_quota.SocketLeases(aioredis.Redis.from_url(django_settings.REDIS_URL))


def test_releasing_a_socket_twice_does_not_raise_the_cap():
    client = fresh_client()

    async def scenario() -> list[bool]:
        leases = leases_on_test_redis()
        try:
            slot = await leases.claim(client, limit=2)
            assert slot is not None
            for _ in range(3):  # a double close, a crash path and a disconnect
                await leases.release(slot)
            slots = [await leases.claim(client, limit=2) for _ in range(3)]
            return [slot is not None for slot in slots]
        finally:
            leases.stop()
            await leases.client.aclose()

    assert asyncio.run(scenario()) == [True, True, False]


def test_sockets_held_past_the_lease_stay_counted(monkeypatch):
    monkeypatch.setattr(ws_quota, "LEASE_S", 1.0)
    monkeypatch.setattr(ws_quota, "RENEW_EVERY_S", 0.2)
    client = fresh_client()

    async def scenario() -> bool:
        leases = leases_on_test_redis()
        try:
            assert await leases.claim(client, limit=2) is not None
            assert await leases.claim(client, limit=2) is not None
            await asyncio.sleep(2.5)  # well past the lease: only renewal keeps them counted
            return await leases.claim(client, limit=2) is None
        finally:
            leases.stop()
            await leases.client.aclose()

    assert asyncio.run(scenario())


def test_the_sockets_of_a_process_that_died_are_freed(monkeypatch):
    monkeypatch.setattr(ws_quota, "LEASE_S", 1.0)
    monkeypatch.setattr(ws_quota, "RENEW_EVERY_S", 0.2)
    client = fresh_client()

    async def scenario() -> tuple[bool, bool]:
        dead, alive = leases_on_test_redis(), leases_on_test_redis()
        try:
            for _ in range(2):
                assert await dead.claim(client, limit=2) is not None
            dead.stop()  # it dies without releasing anything
            refused_at_once = await alive.claim(client, limit=2) is None
            await asyncio.sleep(1.5)
            return refused_at_once, await alive.claim(client, limit=2) is not None
        finally:
            alive.stop()
            for leases in (dead, alive):
                await leases.client.aclose()

    assert asyncio.run(scenario()) == (True, True)
