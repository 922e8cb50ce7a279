"""Clients that stop reading must cost nobody else anything.

Two clients follow every order's events (`/api/orders/stream`) and never read: one is a
raw socket with a 1 KiB receive buffer that completed the handshake and went silent,
the other a websockets client with a one-frame queue that never calls recv. A status
socket that never reads follows one of the orders too. Beside them, 20 status sockets
and a stream socket read normally while 20 orders run.
"""

from __future__ import annotations

import contextlib
import math
import time

import pytest

from orders.models import Order
from tests.faults.harness import (
    Cluster,
    SocketWatch,
    check_story,
    post_orders,
    raw_websocket_that_never_reads,
    unsent_bytes,
    wait_all_terminal,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 20
CONCURRENCY = 10
QUOTE_MS = 50
EXECUTE_MS = (400, 600)
EVENTS_PER_ORDER = 5  # pending, routing, building, submitted, confirmed


def test_clients_that_never_read_do_not_slow_workers_or_starve_other_clients(
    cluster: Cluster,
) -> None:
    latency = {"DEX_QUOTE_LATENCY_MS": str(QUOTE_MS), "DEX_EXECUTE_LATENCY_MS": "400-600"}
    engine = cluster.start_web(wait=False, **latency)
    cluster.start_worker("worker", concurrency=CONCURRENCY, wait=False, **latency)
    cluster.wait_ready()

    expected: set[tuple[str, int]] = set()
    stuck = []
    try:
        with SocketWatch() as watch:
            stuck.append(raw_websocket_that_never_reads(engine.ws_url, "/api/orders/stream"))
            watch.hold(f"{engine.ws_url}/api/orders/stream", max_queue=1)

            def seen_everything(messages: list[dict]) -> bool:
                got = {(m["orderId"], m["seq"]) for m in messages}
                return bool(expected) and expected <= got

            feed = watch.follow(f"{engine.ws_url}/api/orders/stream", until=seen_everything)

            started = time.monotonic()
            order_ids = post_orders(engine, ORDERS)
            stuck.append(
                raw_websocket_that_never_reads(engine.ws_url, f"/api/orders/status/{order_ids[0]}")
            )
            followers = {
                order_id: watch.follow(f"{engine.ws_url}/api/orders/status/{order_id}")
                for order_id in order_ids
            }
            expected.update(
                (order_id, seq) for order_id in order_ids for seq in range(1, EVENTS_PER_ORDER + 1)
            )
            final = wait_all_terminal(order_ids, timeout=60, cluster=cluster)
            elapsed = time.monotonic() - started
            streams = {
                order_id: future.result(timeout=30) for order_id, future in followers.items()
            }
            everything = feed.result(timeout=30)
            backlog = [unsent_bytes(sock) for sock in stuck]
    finally:
        for sock in stuck:
            with contextlib.suppress(OSError):
                sock.close()

    assert set(final.values()) == {"confirmed"}, final
    # The silent clients really were silent: the server holds bytes it cannot deliver.
    assert backlog[0] > 0, backlog
    print(f"bytes the server could not deliver to the silent clients: {backlog}")
    for order_id in order_ids:
        _, events = check_story(order_id)
        stream = streams[order_id]
        assert not stream.timed_out and stream.close_code == 1000, (order_id, stream)
        assert [m["seq"] for m in stream.messages] == [e.seq for e in events], order_id
        assert stream.messages[-1]["status"] == "confirmed"
    assert not everything.timed_out, "the reading stream client missed events"
    got = {(m["orderId"], m["seq"]) for m in everything.messages}
    assert expected <= got, sorted(expected - got)

    # Normal time, measured by the engine's own clock: from the first order stored to the
    # last one finished. Waves of CONCURRENCY orders, each a quote and the slowest swap,
    # with a wide margin (x3 + 5 s) for a loaded 2-core machine. A client that blocked the
    # engine would hold it until the test's 60 s deadline.
    stored = Order.objects.filter(public_id__in=order_ids)
    first_created = min(order.created_at for order in stored)
    last_finished = max(order.finished_at for order in stored)
    engine_s = (last_finished - first_created).total_seconds()
    waves = math.ceil(ORDERS / CONCURRENCY)
    bound = 3 * waves * (QUOTE_MS + EXECUTE_MS[1]) / 1000 + 5
    print(f"{ORDERS} orders: {engine_s:.2f} s in the engine, {elapsed:.2f} s seen by the test")
    assert engine_s < bound, f"{ORDERS} orders took {engine_s:.1f} s (bound {bound:.1f} s)"
