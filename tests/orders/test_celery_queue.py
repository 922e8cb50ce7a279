"""The order queue's own push is the message Celery would send, where Celery would send it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import redis
from django.conf import settings

from orders import celery_queue
from orders.celery_queue import CeleryOrderQueue
from orders.tasks import execute_order


def _queued(redis_client: redis.Redis) -> list[dict[str, Any]]:
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    texts = redis_client.lrange(queue, 0, -1)
    redis_client.delete(queue)
    return [json.loads(text) for text in reversed(texts)]  # LPUSH: newest first


def _without_ids(message: dict[str, Any]) -> dict[str, Any]:
    """The message with what differs between any two sends blanked out."""
    headers = dict(message["headers"], id="ID", root_id="ID")
    properties = dict(message["properties"], correlation_id="ID", delivery_tag="TAG")
    return dict(message, headers=headers, properties=properties)


def test_the_push_is_the_message_apply_async_sends_to_the_same_queue(redis_client):
    redis_client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    execute_order.apply_async((41,))
    task_id = celery_queue.push_now(order_pk=41)

    celerys, ours = _queued(redis_client)
    assert _without_ids(ours) == _without_ids(celerys)
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == task_id
    assert ours["properties"]["correlation_id"] == task_id
    assert ours["properties"]["delivery_tag"] != celerys["properties"]["delivery_tag"]
    args, kwargs, _ = json.loads(base64.b64decode(ours["body"]))
    assert (args, kwargs) == ([41], {})


def test_a_retry_with_a_countdown_goes_through_celery(redis_client):
    redis_client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    CeleryOrderQueue().enqueue(order_pk=7, countdown=30)
    (message,) = _queued(redis_client)
    assert message["headers"]["eta"] is not None
    assert json.loads(base64.b64decode(message["body"]))[0] == [7]


def test_a_push_that_fails_leaves_the_order_to_the_sweep(monkeypatch, caplog):
    class Down:
        def lpush(self, *_: Any) -> None:
            raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(celery_queue, "_broker", lambda: Down())
    CeleryOrderQueue().enqueue(order_pk=9)  # does not raise
    assert "could not enqueue order pk=9; the sweep will retry" in caplog.text


@pytest.mark.parametrize("order_pk", [1, 2**40])
def test_the_message_names_the_task_and_its_argument(order_pk):
    text = celery_queue.task_message_text(task_id="t", order_pk=order_pk, queue="q")
    message = json.loads(text)
    assert message["headers"]["task"] == "orders.tasks.execute_order"
    assert message["headers"]["argsrepr"] == f"({order_pk},)"
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": "q"}
