"""The HTTP surface of resting orders: placing them, their strict fields, cancelling."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/orders/execute"


@pytest.fixture
def client() -> APIClient:
    api = APIClient()
    api.raise_request_exception = False
    return api


def post(client: APIClient, **body: Any):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def raw(client: APIClient, text: str):
    return client.post(URL, data=text, content_type="application/json")


def counts() -> tuple[int, int]:
    return Order.objects.count(), OrderEvent.objects.count()


LIMIT = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "orderType": "limit"}


def test_a_limit_order_is_accepted_and_waits(client):
    response = post(client, **LIMIT, limitPrice="1000", expiresInS=600)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["orderType"] == "limit"
    assert body["limitPrice"] == "1000"
    assert body["slippageBps"] is None
    expires = datetime.fromisoformat(body["expiresAt"])
    assert abs((expires - timezone.now()).total_seconds() - 600) < 5
    order = Order.objects.get(public_id=body["orderId"])
    assert order.status == Order.Status.WAITING
    detail = client.get(f"/api/orders/{body['orderId']}").json()
    assert [e["status"] for e in detail["events"]] == ["pending", "waiting"]
    assert detail["events"][1]["details"]["trigger"]["limitPrice"] == "1000"


def test_a_limit_price_given_as_a_json_number_is_exact(client):
    response = raw(
        client,
        '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "orderType": "limit", '
        '"limitPrice": 150.0000000000000000001}',
    )
    assert response.status_code == 400  # 19 decimals: refused, not rounded through a float
    assert "limitPrice" in response.json()["errors"]
    response = raw(
        client,
        '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "orderType": "limit", '
        '"limitPrice": 150.123456789}',
    )
    assert response.status_code == 201
    assert response.json()["limitPrice"] == "150.123456789"


def test_default_expiry_is_a_day_and_snipers_default_to_500_bps(client):
    stop = post(
        client, tokenIn="SOL", tokenOut="USDC", amount="1", orderType="stop", stopPrice="10"
    )
    assert stop.status_code == 201, stop.content
    expires = datetime.fromisoformat(stop.json()["expiresAt"])
    assert abs((expires - timezone.now() - timedelta(hours=24)).total_seconds()) < 5
    assert stop.json()["slippageBps"] == 50
    sniper = post(client, tokenIn="USDC", tokenOut="NOVA", amount="10", orderType="sniper")
    assert sniper.status_code == 201, sniper.content
    assert sniper.json()["slippageBps"] == 500


def future(seconds: float) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).isoformat()


BAD = [
    pytest.param({**LIMIT}, "limitPrice", id="limit-without-price"),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "slippageBps": 50}, "slippageBps", id="limit-slippage"
    ),
    pytest.param({**LIMIT, "limitPrice": "0"}, "limitPrice", id="limit-zero"),
    pytest.param({**LIMIT, "limitPrice": "-5"}, "limitPrice", id="limit-negative"),
    pytest.param({**LIMIT, "limitPrice": "1e3"}, "limitPrice", id="limit-exponent-string"),
    pytest.param({**LIMIT, "limitPrice": "NaN"}, "limitPrice", id="limit-nan-string"),
    pytest.param({**LIMIT, "limitPrice": "Infinity"}, "limitPrice", id="limit-inf-string"),
    pytest.param({**LIMIT, "limitPrice": True}, "limitPrice", id="limit-bool"),
    pytest.param({**LIMIT, "limitPrice": ["1"]}, "limitPrice", id="limit-list"),
    pytest.param({**LIMIT, "limitPrice": "1", "stopPrice": "1"}, "stopPrice", id="limit-with-stop"),
    pytest.param(
        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "orderType": "stop"},
        "stopPrice",
        id="stop-without-price",
    ),
    pytest.param(
        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "limitPrice": "1"},
        "limitPrice",
        id="market-with-limit",
    ),
    pytest.param(
        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "expiresInS": 60},
        "expiresInS",
        id="market-with-expiry",
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresInS": "60"}, "expiresInS", id="expiry-string"
    ),
    pytest.param({**LIMIT, "limitPrice": "1", "expiresInS": 60.5}, "expiresInS", id="expiry-float"),
    pytest.param({**LIMIT, "limitPrice": "1", "expiresInS": 0}, "expiresInS", id="expiry-zero"),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresInS": 31 * 86400}, "expiresInS", id="expiry-too-far"
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresAt": "2020-01-01T00:00:00Z"},
        "expiresAt",
        id="expires-in-the-past",
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresAt": "2099-01-01T00:00:00"},
        "expiresAt",
        id="expires-without-zone",
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresAt": "tomorrow"}, "expiresAt", id="expires-garbage"
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresAt": 1893456000}, "expiresAt", id="expires-number"
    ),
    pytest.param(
        {**LIMIT, "limitPrice": "1", "expiresInS": 60, "expiresAt": "2099-01-01T00:00:00Z"},
        "expiresInS",
        id="both-expiries",
    ),
    pytest.param(
        {"tokenIn": "USDC", "tokenOut": "SOL", "amount": "10", "orderType": "sniper"},
        "tokenOut",
        id="sniper-on-a-traded-token",
    ),
    pytest.param(
        {
            "tokenIn": "USDC",
            "tokenOut": "NOVA",
            "amount": "10",
            "orderType": "sniper",
            "limitPrice": "1",
        },
        "limitPrice",
        id="sniper-with-price",
    ),
    pytest.param(
        {"tokenIn": "USDC", "tokenOut": "NOVA", "amount": "10"}, "pair", id="market-on-no-pool"
    ),
]


@pytest.mark.parametrize(("payload", "field"), BAD)
def test_bad_resting_fields_are_400_naming_the_field_and_store_nothing(client, payload, field):
    before = counts()
    response = post(client, **payload)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert counts() == before


def test_an_exponent_json_number_is_judged_exactly(client):
    before = counts()
    response = raw(
        client,
        '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "orderType": "limit", '
        '"limitPrice": 1e400}',
    )
    assert response.status_code == 400
    assert "limitPrice" in response.json()["errors"]
    assert counts() == before


def test_cancel_answers_200_then_200_again_and_409_404(client):
    order = post(client, **LIMIT, limitPrice="100000").json()
    url = f"/api/orders/{order['orderId']}/cancel"
    first = client.post(url)
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    again = client.post(url)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    events = client.get(f"/api/orders/{order['orderId']}").json()["events"]
    assert [e["status"] for e in events] == ["pending", "waiting", "cancelled"]

    Order.objects.filter(public_id=order["orderId"]).update(status="confirmed")
    conflict = client.post(url)
    assert conflict.status_code == 409
    assert conflict.json()["status"] == "confirmed"
    assert "confirmed" in conflict.json()["errors"]["status"][0]

    assert client.post("/api/orders/00000000-0000-4000-8000-000000000000/cancel").status_code == 404
    assert client.post("/api/orders/not-a-uuid/cancel").status_code == 404
    assert client.get(url).status_code == 405
