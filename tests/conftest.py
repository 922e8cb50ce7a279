"""Shared fixtures: real PostgreSQL (pytest-django's test database) and real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from dex.market_events import EVENTS_KEY
from orders import gateway, leases
from orders.gateway import DexGateway
from orders.models import Order
from orders.notifications import Notifier
from orders.services.creation import order_create
from orders.services.execution import Execution


class RecordingNotifier:
    """Keeps what would have been pushed, so tests can read the live stream."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, message: dict[str, Any], *, wait: bool = False) -> None:
        self.messages.append(message)


@pytest.fixture
def recorder() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.ping()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _no_operator_events(redis_client: redis.Redis) -> Iterator[None]:
    """Each test starts from the seeded market: no price moves, no launched pools."""
    redis_client.delete(EVENTS_KEY)
    yield
    redis_client.delete(EVENTS_KEY)
    built = gateway._gateway
    if built is not None:
        built[1].market_events.clear()


@pytest.fixture
def make_gateway(redis_client: redis.Redis) -> Callable[..., DexGateway]:
    """A DEX gateway on the real Redis with test-friendly latencies unless told otherwise."""

    def build(**overrides: Any) -> DexGateway:
        options: dict[str, Any] = {
            "client": redis_client,
            "seed": 7,
            "quote_latency_s": 0.0,
            "execute_latency_s": (0.0, 0.0),
            "failure_rate": 0.0,
        }
        options.update(overrides)
        return DexGateway.build(**options)

    return build


@pytest.fixture
def make_order(recorder: Notifier) -> Callable[..., Order]:
    def create(**fields: Any) -> Order:
        values: dict[str, Any] = {
            "notifier": recorder,
            "token_in": "SOL",
            "token_out": "USDC",
            "amount": Decimal("1.5"),
            "slippage_bps": 50,
        }
        values.update(fields)
        order, _ = order_create(**values)
        return order

    return create


@pytest.fixture
def start_delivery() -> Callable[..., Execution]:
    """A delivery of an order's task that holds its lease, to drive step by step."""

    def start(order: Order, *, notifier: Notifier, dex: DexGateway) -> Execution:
        holder = leases.new_holder()
        claimed = leases.lease_claim(order_pk=order.pk, holder=holder)
        assert claimed is not None, "the order's lease is held elsewhere"
        return Execution(order=claimed, holder=holder, notifier=notifier, dex=dex)

    return start


@pytest.fixture
def crash_delivery() -> Callable[[Execution], None]:
    """The delivery's process died and its lease ran out: the next delivery may take over."""

    def crash(execution: Execution) -> None:
        expired = timezone.now() - timedelta(seconds=1)
        Order.objects.filter(pk=execution.order.pk).update(lease_until=expired)

    return crash


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(scope="session", autouse=True)
def _drop_test_queue() -> Iterator[None]:
    """Orders created in transactional tests are queued on the run's own queue: drop it."""
    yield
    client = redis.Redis.from_url(settings.REDIS_URL)
    for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, f"{settings.CELERY_TASK_DEFAULT_QUEUE}-e2e"):
        client.delete(queue, *(f"{queue}\x06\x16{priority}" for priority in range(10)))
    client.close()
