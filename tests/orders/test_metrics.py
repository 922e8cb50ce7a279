"""/metrics tells Prometheus what the database holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orders.models import Order
from orders.notifications import dropped_counter_key
from orders.services.execution import order_execute

pytestmark = pytest.mark.django_db


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_match_the_database(client, make_order, make_gateway, recorder, settings):
    settings.ORDER_RETRY_BACKOFF_S = 0.0
    make_order()  # stays pending
    for _ in range(2):
        order = make_order()
        order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    failing = make_order(amount=Decimal(2))
    for _ in range(3):
        order_execute(order_pk=failing.pk, notifier=recorder, dex=make_gateway(failure_rate=1.0))

    samples = scrape(client)

    assert samples[("engine_orders", (("status", "pending"),))] == 1
    assert samples[("engine_orders_finished_total", (("status", "confirmed"),))] == 2
    assert samples[("engine_orders_finished_total", (("status", "failed"),))] == 1
    wins = {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "engine_dex_wins_total"
    }
    assert sum(wins.values()) == 2 and set(wins) <= {"raydium", "meteora"}
    assert samples[("engine_order_retries_total", ())] == 2  # the failed order's 2nd and 3rd
    assert samples[("engine_orders_executing", ())] == 0
    confirmed = Order.objects.filter(status="confirmed").count()
    routed = samples[("engine_order_status_seconds_count", (("status", "submitted"),))]
    assert routed == confirmed  # every confirmed order left `submitted` once
    assert ("engine_queue_depth", ()) in samples


def test_dropped_live_events_are_read_from_the_shared_redis_counter(client, redis_client):
    # Each process adds what it dropped to one key (orders.notifications); /metrics reads it.
    key = dropped_counter_key()
    redis_client.delete(key)
    try:
        assert scrape(client)[("engine_events_publish_dropped_total", ())] == 0
        redis_client.incrby(key, 7)
        redis_client.incrby(key, 5)  # another process, maybe on another host
        assert scrape(client)[("engine_events_publish_dropped_total", ())] == 12
    finally:
        redis_client.delete(key)


def test_the_dropped_counter_is_per_engine_when_engines_share_a_redis(settings):
    settings.ORDER_QUEUE = "orders"
    assert dropped_counter_key() == "engine:events:dropped"
    settings.ORDER_QUEUE = "blue"
    assert dropped_counter_key() == "engine:events:blue:dropped"
