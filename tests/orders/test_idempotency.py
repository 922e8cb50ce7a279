"""The Idempotency-Key header: one key, one body, one order - even under a race."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent

URL = "/api/orders/execute"
BODY = json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"})
OTHER_BODY = json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "2"})


def post(api: APIClient, data: str = BODY, key: str | None = None):
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(URL, data=data, content_type="application/json", **extra)


def counts() -> tuple[int, int]:
    return Order.objects.count(), OrderEvent.objects.count()


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_same_order(api):
    first = post(api, key="order-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    order_id = first.json()["orderId"]

    second = post(api, key="order-1")
    assert second.status_code == 201, second.content
    assert second.json()["orderId"] == order_id
    assert second["Idempotent-Replayed"] == "true"
    assert counts() == (1, 1)

    order = Order.objects.get()
    assert str(order.public_id) == order_id
    assert order.idempotency_key == "order-1"


@pytest.mark.django_db
def test_a_replay_with_the_same_body_spelled_differently_is_the_same_order(api):
    first = post(api, key="k", data='{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5}')
    second = post(
        api,
        key="k",
        data='{"amount": "1.50", "tokenOut": "usdc", "tokenIn": "sol", "slippageBps": 50}',
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["orderId"] == first.json()["orderId"]
    assert counts() == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "other",
    [
        pytest.param(OTHER_BODY, id="other-amount"),
        pytest.param(
            json.dumps({"tokenIn": "SOL", "tokenOut": "USDT", "amount": "1.5"}), id="other-token"
        ),
        pytest.param(
            json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 100}),
            id="other-slippage",
        ),
    ],
)
def test_the_same_key_with_another_body_is_a_409(api, other):
    first = post(api, key="order-1")
    assert first.status_code == 201

    response = post(api, data=other, key="order-1")
    assert response.status_code == 409, response.content
    errors = response.json()["errors"]
    assert "Idempotency-Key" in errors
    assert all(isinstance(message, str) for message in errors["Idempotency-Key"])
    assert counts() == (1, 1)


@pytest.mark.django_db
def test_a_409_does_not_burn_the_key(api):
    first = post(api, key="order-1")
    assert post(api, data=OTHER_BODY, key="order-1").status_code == 409
    again = post(api, key="order-1")
    assert again.status_code == 201
    assert again.json()["orderId"] == first.json()["orderId"]
    assert counts() == (1, 1)


@pytest.mark.django_db
def test_different_keys_make_different_orders(api):
    first = post(api, key="a")
    second = post(api, key="b")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["orderId"] != second.json()["orderId"]
    assert counts() == (2, 2)


@pytest.mark.django_db
def test_without_a_key_every_post_is_a_new_order(api):
    first, second = post(api), post(api)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["orderId"] != second.json()["orderId"]
    assert counts() == (2, 2)


@pytest.mark.django_db
def test_the_longest_valid_key_is_accepted(api):
    key = "k" * 255
    first, second = post(api, key=key), post(api, key=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["orderId"] == first.json()["orderId"]
    assert counts() == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 300, id="300-chars"),
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("has space", id="space"),
        pytest.param("tab\there", id="tab"),
        pytest.param("", id="empty"),
        pytest.param("cl\u00e9", id="non-ascii"),
    ],
)
def test_an_invalid_key_is_a_400_naming_it(api, key):
    response = post(api, key=key)
    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()["errors"]
    assert counts() == (0, 0)


@pytest.mark.django_db
def test_an_invalid_body_with_a_key_does_not_claim_the_key(api):
    bad = post(api, data=json.dumps({"tokenIn": "SOL", "tokenOut": "USDC"}), key="k")
    assert bad.status_code == 400
    assert "amount" in bad.json()["errors"]
    good = post(api, key="k")
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good
    assert counts() == (1, 1)


# --- the race -------------------------------------------------------------------------


def post_at_once(bodies: list[str], key: str) -> list[Any]:
    """POST every body at the same moment, each from its own thread, client and connection."""
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(index: int, data: str) -> None:
        client = APIClient()
        try:
            barrier.wait(timeout=10)
            response = post(client, data=data, key=key)
            results[index] = (
                response.status_code,
                response.json(),
                response.headers.get("Idempotent-Replayed"),
            )
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, data), name=f"post-{index}")
        for index, data in enumerate(bodies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    return results


@pytest.fixture
def order_queue(redis_client):
    """The test run's own Celery queue (a Redis list no worker consumes), emptied around."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue.startswith("engine-test-"), queue
    redis_client.delete(queue)
    yield queue
    redis_client.delete(queue)


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_posts_with_one_key_make_one_order(order_queue, redis_client):
    results = post_at_once([BODY] * 10, key="race-1")

    statuses = [status for status, _, _ in results]
    assert statuses == [201] * 10, results
    order_ids = {payload["orderId"] for _, payload, _ in results}
    assert len(order_ids) == 1, order_ids
    replayed = Counter(header for _, _, header in results)
    assert replayed == {None: 1, "true": 9}, replayed

    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1
    order = Order.objects.get()
    assert str(order.public_id) == order_ids.pop()
    # Queued exactly once: it will execute once.
    assert redis_client.llen(order_queue) == 1
    message = json.loads(redis_client.lindex(order_queue, 0))
    assert message["headers"]["task"] == "orders.tasks.execute_order"


@pytest.mark.django_db(transaction=True)
def test_simultaneous_posts_with_one_key_and_two_bodies_make_one_order(order_queue, redis_client):
    bodies = [BODY, OTHER_BODY] * 4
    results = post_at_once(bodies, key="race-2")

    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1
    order = Order.objects.get()
    winner = BODY if order.amount_in == 1.5 else OTHER_BODY
    for data, (status, payload, _) in zip(bodies, results, strict=True):
        if data == winner:
            assert status == 201, payload
            assert payload["orderId"] == str(order.public_id)
        else:
            assert status == 409, payload
            assert "Idempotency-Key" in payload["errors"]
    assert redis_client.llen(order_queue) == 1


@pytest.mark.django_db
def test_a_reused_key_inside_an_open_transaction_replays_without_aborting_it(make_order):
    """The single-statement insert fails on the unique index inside the caller's
    transaction; a savepoint keeps that transaction usable for the replay."""
    from django.db import transaction

    first = make_order(idempotency_key="inside-a-transaction")
    with transaction.atomic():
        again = make_order(idempotency_key="inside-a-transaction")
        assert Order.objects.filter(idempotency_key="inside-a-transaction").count() == 1
    assert again.pk == first.pk
