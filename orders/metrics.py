"""Prometheus metrics computed from the database and the broker at scrape time.

Web and worker processes run on any number of hosts; counting in each process would
need a shared multiprocess directory per host and still disagree with the database.
PostgreSQL already holds every order and every event, so the numbers come from there
and match it by construction. The histogram of time in each status scans the events
with one window query; at millions of events, scrape less often or archive old events.
The one number no table holds, live events dropped by a full publish backlog, is added
up in Redis by the processes that drop them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import cast

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from orders.models import Order
from orders.notifications import dropped_counter_key

logger = logging.getLogger(__name__)

STATUS_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_TIME_IN_STATUS_SQL = """
WITH spans AS (
    SELECT status,
           EXTRACT(EPOCH FROM LEAD(at) OVER (PARTITION BY order_id ORDER BY seq) - at) AS s
    FROM order_events
)
SELECT status, COUNT(*), COALESCE(SUM(s), 0), {buckets}
FROM spans WHERE s IS NOT NULL GROUP BY status
"""


def _time_in_status() -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "engine_order_status_seconds",
        "Time orders spent in each status before the next one",
        labels=["status"],
    )
    buckets = ", ".join(f"COUNT(*) FILTER (WHERE s <= {bound})" for bound in STATUS_BUCKETS_S)
    with connection.cursor() as cursor:
        cursor.execute(_TIME_IN_STATUS_SQL.format(buckets=buckets))
        rows = cursor.fetchall()
    for status, count, total, *cumulative in rows:
        family.add_metric(
            [status],
            buckets=[
                *((str(bound), n) for bound, n in zip(STATUS_BUCKETS_S, cumulative, strict=True)),
                ("+Inf", count),
            ],
            sum_value=float(total),
        )
    return family


def _from_redis() -> tuple[float, float]:
    """The broker queue's depth and the live events processes dropped (one connection)."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        depth = cast(int, client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
        dropped = cast(bytes | None, client.get(dropped_counter_key()))
        return float(depth), float(dropped or 0)
    finally:
        client.close()


class EngineCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "engine_orders", "Orders by current status", labels=["status"]
        )
        counts = dict(Order.objects.values_list("status").annotate(n=Count("id")))
        for status in Order.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        finished = CounterMetricFamily(
            "engine_orders_finished", "Orders that reached a final status", labels=["status"]
        )
        for status in (Order.Status.CONFIRMED, Order.Status.FAILED):
            finished.add_metric([status], counts.get(status, 0))
        yield finished

        wins = CounterMetricFamily(
            "engine_dex_wins", "Confirmed orders by the DEX that filled them", labels=["dex"]
        )
        confirmed = Order.objects.filter(status=Order.Status.CONFIRMED)
        for dex, n in confirmed.values_list("dex").annotate(n=Count("id")).order_by("dex"):
            wins.add_metric([dex], n)
        yield wins

        totals = Order.objects.aggregate(
            attempts_total=Sum("attempts"),
            attempted=Count("id", filter=Q(attempts__gt=0)),
            executing=Count("id", filter=Order.EXECUTING),
            waiting_retry=Count("id", filter=Order.WAITING_TO_RETRY),
        )
        yield CounterMetricFamily(
            "engine_order_retries",
            "Attempts beyond each order's first",
            value=(totals["attempts_total"] or 0) - totals["attempted"],
        )
        yield GaugeMetricFamily(
            "engine_orders_executing", "Orders a worker is executing now", value=totals["executing"]
        )
        yield GaugeMetricFamily(
            "engine_orders_waiting_retry",
            "Orders waiting out a back-off",
            value=totals["waiting_retry"],
        )
        yield GaugeMetricFamily(
            "engine_orders_pending",
            "Orders accepted and not yet started",
            value=counts.get("pending", 0),
        )
        try:
            depth, dropped = _from_redis()
        except redis.RedisError:
            logger.warning("metrics: queue depth and dropped events unavailable", exc_info=True)
        else:
            yield GaugeMetricFamily(
                "engine_queue_depth", "Messages waiting on the broker queue", value=depth
            )
            # Counted by each process, added up in Redis (orders.notifications).
            yield CounterMetricFamily(
                "engine_events_publish_dropped",
                "Live events dropped because a process's publish backlog was full",
                value=dropped,
            )
        yield _time_in_status()


_registry = CollectorRegistry(auto_describe=False)
_registry.register(EngineCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
