"""The execution queue on Celery: the one module that imports the tasks to enqueue them.

An order queued to run now (every new order, the sweep's re-queues) is pushed with one
``LPUSH`` of the message Celery itself would send: its headers and body from Celery's
own ``as_task_v2``, in the envelope kombu's Redis transport writes. Through
``apply_async`` the same push took a producer from the pool, a new Redis client and
kombu's publish machinery: an eighth of daphne's samples in a POST and about a
millisecond before the worker could see the order. tests/orders/test_celery_queue.py
holds the two messages side by side, so a Celery or kombu upgrade that changes the
format fails there first. A retry's countdown still goes through ``apply_async``
(Celery's ETA handling).
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from functools import cache

import redis
from kombu.utils.json import dumps

from orders.tasks import execute_order

logger = logging.getLogger(__name__)

# A push that takes longer fails; the order is then left to the recovery sweep.
PUSH_TIMEOUT_S = 5.0


class CeleryOrderQueue:
    def enqueue(self, *, order_pk: int, countdown: float | None = None) -> None:
        """Queue ``execute_order``. A failure leaves the order to the recovery sweep."""
        try:
            if countdown is None:
                push_now(order_pk=order_pk)
            else:
                execute_order.apply_async((order_pk,), countdown=countdown)
        except Exception:
            logger.exception("could not enqueue order pk=%s; the sweep will retry", order_pk)


def push_now(*, order_pk: int) -> str:
    """Put ``execute_order(order_pk)`` on its queue for the next free worker; returns the
    task id."""
    queue = _queue_name()
    task_id = str(uuid.uuid4())
    _broker().lpush(queue, task_message_text(task_id=task_id, order_pk=order_pk, queue=queue))
    return task_id


def task_message_text(*, task_id: str, order_pk: int, queue: str) -> str:
    """The message as kombu's Redis transport stores it for ``apply_async((order_pk,))``."""
    app = execute_order.app
    headers, properties, body, _ = app.amqp.as_task_v2(
        task_id,
        execute_order.name,
        args=(order_pk,),
        reply_to=app.thread_oid,
        ignore_result=execute_order.ignore_result,
    )
    return dumps(
        {
            "body": base64.b64encode(dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                **properties,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


def _queue_name() -> str:
    """Where Celery's router sends ``execute_order`` (the default queue, ``ORDER_QUEUE``)."""
    return _routed_queue(execute_order.app.conf.task_default_queue)


@cache
def _routed_queue(default_queue: str) -> str:
    """Celery's route for the task, worked out once per default queue (the cache key: a
    test settings module or a bench engine names another)."""
    route = execute_order.app.amqp.router.route({}, execute_order.name)
    return str(route["queue"].name)


_clients: dict[int, redis.Redis] = {}


def _broker() -> redis.Redis:
    """One client (and connection pool) per process; a forked child makes its own. Two
    threads creating the first at once keep one of them: harmless."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        client = redis.Redis.from_url(
            execute_order.app.conf.broker_url,
            socket_timeout=PUSH_TIMEOUT_S,
            socket_connect_timeout=PUSH_TIMEOUT_S,
        )
        client = _clients.setdefault(pid, client)
    return client
