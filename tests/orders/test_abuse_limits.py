"""Per-client limits: order submissions are throttled with 429 and Retry-After."""

from __future__ import annotations

import json
import uuid

import pytest

from orders.models import Order

pytestmark = pytest.mark.django_db

BODY = json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"})


def test_too_many_orders_from_one_client_get_429_with_retry_after(api, settings):
    settings.ORDER_SUBMIT_RATE = "3/min"
    client_ip, other_ip = (f"2001:db8::{uuid.uuid4().hex[:4]}" for _ in range(2))  # fresh counters
    statuses = [
        api.post(
            "/api/orders/execute", BODY, content_type="application/json", REMOTE_ADDR=client_ip
        )
        for _ in range(4)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    refused = statuses[-1]
    assert int(refused["Retry-After"]) > 0
    assert "rate" in refused.json()["errors"]
    assert Order.objects.count() == 3
    other = api.post(
        "/api/orders/execute", BODY, content_type="application/json", REMOTE_ADDR=other_ip
    )
    assert other.status_code == 201  # the limit is per client


def test_responses_carry_security_headers(client):
    response = client.get("/api/orders")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
