"""PostgreSQL unreachable for a few seconds while orders execute.

The engine processes reach PostgreSQL only through a TCP proxy in this test process; the
proxy cuts every open connection and refuses new ones for a while, then lets them in
again. The test itself reads the database directly.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import (
    BODY,
    Cluster,
    SocketWatch,
    TcpProxy,
    check_story,
    post_orders,
    statuses,
    wait_all_terminal,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 10
DOWN_S = 4.0


def test_database_outage_mid_execution_resumes_without_half_written_state(
    pg_proxy: TcpProxy, cluster: Cluster
) -> None:
    cluster.database_url = pg_proxy.url(cluster.database_url)
    engine = cluster.start_web(wait=False)
    worker = cluster.start_worker(
        "worker",
        concurrency=5,
        beat=True,
        wait=False,
        DEX_EXECUTE_LATENCY_MS="1500-2000",
        ORDER_STUCK_AFTER_S="2",
        ORDER_SWEEP_INTERVAL_S="1",
    )
    cluster.wait_ready()
    order_ids = post_orders(engine, ORDERS)
    # Cut when swaps are out on the network: their confirmation has to be written later.
    wait_until(
        lambda: list(statuses(order_ids).values()).count("submitted") >= 3,
        "orders in flight",
        timeout=15,
    )
    before = statuses(order_ids)
    pg_proxy.down()  # the fault: PostgreSQL is unreachable for DOWN_S seconds
    time.sleep(0.5)  # a commit already on its way when the cut came may still land
    at_cut = statuses(order_ids)  # the test reads PostgreSQL directly, not via the proxy
    time.sleep(DOWN_S - 0.5)
    during = statuses(order_ids)
    pg_proxy.up()
    assert during == at_cut, "an order moved while the engine could not reach PostgreSQL"

    final = wait_all_terminal(order_ids, timeout=60, cluster=cluster)
    assert worker.alive(), worker.tail()
    assert pg_proxy.cut > 0, "the outage cut no connection: it did not hit the engine"
    assert set(final.values()) == {"confirmed"}, {
        order_id: check_story(order_id)[0].error for order_id in order_ids
    }
    for order_id in order_ids:
        check_story(order_id)
    assert before != final and during != final, (before, during, final)


def test_sockets_refused_during_a_database_outage_do_not_lock_the_client_out(
    pg_proxy: TcpProxy, cluster: Cluster
) -> None:
    """Bug B3 (fixed in 26d2a1c): a consumer that crashed kept its per-IP socket slot."""
    cluster.database_url = pg_proxy.url(cluster.database_url)
    engine = cluster.start_web(WS_MAX_SOCKETS_PER_CLIENT="3")
    [order_id] = post_orders(engine, 1)  # no worker: it stays pending
    url = f"{engine.ws_url}/api/orders/status/{order_id}"

    pg_proxy.down()
    # The REST API answers an outage with a JSON 503 an API client can act on.
    status, answer = engine.request("POST", "/api/orders/execute", BODY)
    assert status == 503, (status, answer)
    assert "database" in answer["errors"], answer
    with SocketWatch() as watch:
        # A client retrying while the database is down; each attempt is refused.
        for _ in range(4):
            refused = watch.follow(url, timeout=8).result(timeout=15)
            # Answered and closed, neither hung nor served a stream it cannot read.
            assert not refused.timed_out, refused
            assert refused.close_code == 4503, refused
    pg_proxy.up()

    with SocketWatch() as watch:
        stream = watch.follow(url, timeout=3, until=lambda messages: True).result(timeout=10)
    assert stream.messages and stream.messages[0].get("seq") == 1, stream
