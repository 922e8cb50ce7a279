"""Redis (broker, channel layer and the mock network's memory) restarts mid-flight.

A memory-only redis-server is SIGKILLed while orders are queued, routing and submitted,
stays down for a moment, and comes back empty on the same port: queued and unacked
messages are gone, channel-layer groups are gone, and so is every transaction the mock
network had accepted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.utils import timezone

from orders.models import Order
from tests.e2e.conftest import LiveEngine
from tests.faults.harness import (
    BODY,
    Cluster,
    RedisServer,
    SocketWatch,
    TcpProxy,
    check_story,
    network_of,
    post_orders,
    statuses,
    submitted_hashes,
    wait_all_terminal,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 10
WATCHED = 5
# WebSocket consumers retry a failed channel-layer read once a second. 1.5 s puts Redis's
# return in the middle of their wait, away from a retry (the race the last test hits).
DOWN_S = 1.5


def start(cluster: Cluster, concurrency: int = 5, **web_env: str) -> tuple[LiveEngine, Any]:
    engine = cluster.start_web(wait=False, **web_env)
    worker = cluster.start_worker(
        "worker",
        concurrency=concurrency,
        beat=True,
        wait=False,
        DEX_EXECUTE_LATENCY_MS="1500-2000",
        ORDER_STUCK_AFTER_S="3",
        ORDER_SWEEP_INTERVAL_S="1",
    )
    cluster.wait_ready()
    return engine, worker


def test_redis_restart_with_orders_in_flight_loses_no_order(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    # Five slots for ten orders: half are still on the queue when Redis dies.
    engine, worker = start(cluster, concurrency=5)
    order_ids = post_orders(engine, ORDERS)

    with SocketWatch() as watch:
        streams = {
            order_id: watch.follow(f"{engine.ws_url}/api/orders/status/{order_id}", timeout=40)
            for order_id in order_ids[:WATCHED]
        }
        wait_until(
            lambda: list(statuses(order_ids).values()).count("submitted") >= 3,
            "orders in flight",
            timeout=15,
        )
        before = statuses(order_ids)
        sent_before = {
            str(order.public_id): order.tx_hash
            for order in Order.objects.filter(public_id__in=order_ids, status="submitted")
        }
        killed_at = timezone.now()
        redis_server.kill()
        # An order that arrives while Redis is down: stored, answered, queued later by the
        # sweep (the table is the outbox).
        status, answer = engine.request("POST", "/api/orders/execute", BODY)
        assert status == 201, answer
        order_ids.append(answer["orderId"])
        time.sleep(max(0.0, DOWN_S - (timezone.now() - killed_at).total_seconds()))
        redis_server.start()

        final = wait_all_terminal(order_ids, timeout=60, cluster=cluster)
        results = {order_id: future.result(timeout=45) for order_id, future in streams.items()}
        # A client that connects after the restart gets the whole story too.
        replays = {
            order_id: watch.follow(f"{engine.ws_url}/api/orders/status/{order_id}", timeout=10)
            for order_id in results
        }
        replays = {order_id: future.result(timeout=15) for order_id, future in replays.items()}
    assert worker.alive(), worker.tail()

    network = network_of(redis_server.url)
    for order_id in order_ids:
        order, events = check_story(order_id)
        hashes = submitted_hashes(events)
        # The restarted network forgot what it had accepted; the engine rebroadcast the
        # same signed transaction, so it never holds more than the events show.
        assert network.transaction_count(order_id) <= len(hashes), order_id
        if order.status == "confirmed":
            assert len(hashes) == order.attempts, order_id
    in_flight = [status for status in before.values() if status not in ("pending", "confirmed")]
    assert in_flight, before
    # Orders whose transaction the old Redis held were finished by rebroadcasting that very
    # transaction to the empty network (it holds it now), not by signing a new one.
    assert sent_before, before
    for order_id, tx_hash in sent_before.items():
        order = Order.objects.get(public_id=order_id)
        if order.status == "confirmed" and order.attempts == 1 and order.finished_at > killed_at:
            assert order.tx_hash == tx_hash, order_id
            assert network.transaction_count(order_id) == 1, order_id
    assert set(final.values()) == {"confirmed"}, {
        order_id: check_story(order_id)[0].error for order_id in order_ids
    }
    for order_id, stream in results.items():
        # Sockets open across the restart carry on: every event once, then 1000.
        _, events = check_story(order_id)
        assert not stream.timed_out, (order_id, [m["seq"] for m in stream.messages])
        assert stream.close_code == 1000, (order_id, stream.close_code)
        assert [m["seq"] for m in stream.messages] == [e.seq for e in events], order_id
        replay = replays[order_id]
        assert replay.close_code == 1000, (order_id, replay)
        assert [m["seq"] for m in replay.messages] == [e.seq for e in events], order_id


def test_status_sockets_get_the_terminal_event_when_redis_returns_during_a_resync(
    pg_proxy: TcpProxy, cluster: Cluster, redis_server: RedisServer
) -> None:
    """Redis comes back between a consumer's failed re-join and its next read.

    The web process reaches PostgreSQL through a proxy that delays every reply by
    ``DELAY_S``, so the database read a resync does after its failed ``group_add`` takes
    about 2 x DELAY_S: consumers then retry at about 1.0, 1.0 + 2d + 1.0 ... seconds
    after the kill, and the window between the second failed re-join and the next read
    is (2.0 + 2d, 2.0 + 4d). Redis returns in the middle of it. The same race struck
    the plain restart test about one run in six with DOWN_S = 2 s.
    """
    delay_s = 0.4
    engine, _ = start(cluster, DATABASE_URL=pg_proxy.url(cluster.database_url))
    order_ids = post_orders(engine, 5)
    with SocketWatch() as watch:
        streams = {
            order_id: watch.follow(f"{engine.ws_url}/api/orders/status/{order_id}", timeout=25)
            for order_id in order_ids
        }
        wait_until(
            lambda: set(statuses(order_ids).values()) == {"submitted"},
            "orders submitted",
            timeout=15,
        )
        pg_proxy.reply_delay_s = delay_s  # a slow database for daphne only
        killed = time.monotonic()
        redis_server.kill()
        time.sleep(max(0.0, 2.0 + 3 * delay_s - (time.monotonic() - killed)))
        redis_server.start()
        wait_all_terminal(order_ids, timeout=60, cluster=cluster)
        results = {order_id: future.result(timeout=40) for order_id, future in streams.items()}
    for order_id, stream in results.items():
        _, events = check_story(order_id)
        assert not stream.timed_out, (order_id, [m["seq"] for m in stream.messages])
        assert stream.close_code == 1000, (order_id, stream.close_code)
        assert [m["seq"] for m in stream.messages] == [e.seq for e in events], order_id
