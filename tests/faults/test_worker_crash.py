"""Workers SIGKILLed mid-swap (whole group, or only pool children), and one task
delivered twice at once.

Real daphne, real Celery workers (the default thread pool; prefork where the test is
about its children, or for both), a private Redis, the test database.
"""

from __future__ import annotations

import re
import time

import pytest

from orders.models import Order
from tests.faults.harness import (
    Cluster,
    SocketWatch,
    check_story,
    create_orders,
    deliveries,
    kill_pool_children,
    network_of,
    post_orders,
    publish_execute,
    statuses,
    submitted_hashes,
    wait_all_terminal,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 8


# Every order terminal this soon after kill -9 of every worker, with default settings.
RECOVERY_TARGET_S = 10.0


@pytest.mark.parametrize("pool", ["threads", "prefork"])
@pytest.mark.parametrize("doomed_host", [None, "another-host"], ids=["same-host", "other-host"])
def test_kill_9_of_the_whole_worker_while_orders_are_submitted(
    cluster: Cluster, doomed_host: str | None, pool: str
) -> None:
    """Every order ends exactly once, with one transaction, within RECOVERY_TARGET_S of
    the kill; live sockets see the end.

    Default lease and sweep settings. On the same host the new worker sees that the
    holders' processes are gone and takes over at once; a worker that ran on another
    host can only be outlived: its orders are taken over when their leases run out.
    """
    engine = cluster.start_web(wait=False)
    # Swaps take 2-2.5 s to land, so the orders sit in `submitted` when the worker dies.
    first = cluster.start_worker(
        "doomed",
        wait=False,
        host=doomed_host,
        DEX_EXECUTE_LATENCY_MS="2000-2500",
        ORDER_WORKER_POOL=pool,
    )
    cluster.wait_ready()
    order_ids = post_orders(engine, ORDERS)

    with SocketWatch() as watch:
        streams = {
            order_id: watch.follow(f"{engine.ws_url}/api/orders/status/{order_id}", timeout=60)
            for order_id in order_ids
        }
        wait_until(
            lambda: set(statuses(order_ids).values()) == {"submitted"},
            "every order to be submitted",
            timeout=15,
        )
        if pool == "prefork":
            children = [pid for pid in first.group_members() if pid != first.pgid]
            assert len(children) >= 2, "expected the prefork pool's children in the group"
        first.kill_group()  # SIGKILL to the main process and every pool child at once
        killed_at = time.monotonic()
        at_kill = statuses(order_ids)
        assert set(at_kill.values()) == {"submitted"}, at_kill

        # A new worker with beat, default settings, takes over what the dead one left.
        second = cluster.start_worker(
            "survivor", beat=True, wait=False, DEX_EXECUTE_LATENCY_MS="2000-2500"
        )
        final = wait_all_terminal(order_ids, timeout=40, cluster=cluster)
        recovered_in = time.monotonic() - killed_at
        print(f"{doomed_host or 'same host'}: all orders terminal {recovered_in:.1f} s after kill")
        assert recovered_in <= RECOVERY_TARGET_S, recovered_in
        results = {order_id: future.result(timeout=30) for order_id, future in streams.items()}

    network = network_of(cluster.redis_url)
    for order_id in order_ids:
        order, events = check_story(order_id)
        hashes = submitted_hashes(events)
        # What the network accepted is exactly what the events say was sent: one per attempt.
        assert network.transaction_count(order_id) == len(hashes), order_id
        if order.status == "confirmed":
            assert order.attempts == 1 and len(hashes) == 1, order_id
        stream = results[order_id]
        assert not stream.timed_out, (order_id, stream)
        assert stream.close_code == 1000, (order_id, stream.close_code)
        assert [m["seq"] for m in stream.messages] == [e.seq for e in events], order_id
        assert stream.messages[-1]["status"] == final[order_id]
        assert stream.messages[-1]["txHash"] == order.tx_hash
    assert re.search(r"recovery: re-queued \d+ in_flight orders", second.text()), second.tail()
    assert set(final.values()) == {"confirmed"}, {
        oid: Order.objects.get(public_id=oid).error for oid in order_ids
    }


def test_one_task_delivered_twice_at_once_executes_once(cluster: Cluster) -> None:
    """Two workers on one queue each get a copy of the same task: one swap, one story."""
    # Swaps take 2 s, so the second copy always finds the order still in flight.
    workers = [
        cluster.start_worker(name, concurrency=5, wait=False, DEX_EXECUTE_LATENCY_MS="2000")
        for name in ("left", "right")
    ]
    cluster.wait_ready()
    orders = create_orders(5)
    publish_execute(cluster, [order.pk for order in orders], copies=2)

    order_ids = [str(order.public_id) for order in orders]
    final = wait_all_terminal(order_ids, timeout=30, cluster=cluster)
    assert set(final.values()) == {"confirmed"}, final

    network = network_of(cluster.redis_url)
    logs = "\n".join(worker.text() for worker in workers)
    for order_id in order_ids:
        order, events = check_story(order_id)
        assert [e.status for e in events] == [
            "pending",
            "routing",
            "building",
            "submitted",
            "confirmed",
        ], order_id
        assert network.transaction_count(order_id) == 1, order_id
        # The second copy found the first one's live lease, stopped at once, and was not
        # counted as a delivery.
        assert order.deliveries == 1, (order_id, order.deliveries)
        assert re.search(
            rf"order {order_id} is held by a live delivery; this duplicate stops", logs
        ), order_id


def test_kill_9_of_the_pool_children_redelivers_without_the_sweep(cluster: Cluster) -> None:
    """acks_late + reject_on_worker_lost: the main process puts the lost tasks back."""
    # No beat, and the sweep would wait 60 s: only redelivery can finish these in time.
    worker = cluster.start_worker(
        "worker",
        concurrency=4,
        DEX_EXECUTE_LATENCY_MS="1500-2000",
        ORDER_STUCK_AFTER_S="60",
        ORDER_WORKER_POOL="prefork",
    )
    orders = create_orders(4)
    order_ids = [str(order.public_id) for order in orders]
    publish_execute(cluster, [order.pk for order in orders])
    wait_until(lambda: set(statuses(order_ids).values()) == {"submitted"}, "orders submitted", 15)
    assert kill_pool_children(worker), "no pool children to kill"

    final = wait_all_terminal(order_ids, timeout=20, cluster=cluster)
    assert set(final.values()) == {"confirmed"}, final
    assert worker.alive(), worker.tail()
    network = network_of(cluster.redis_url)
    for order_id in order_ids:
        check_story(order_id)
        assert network.transaction_count(order_id) == 1, order_id
        assert deliveries(order_id) == 2, order_id
    assert "recovery: re-queued" not in worker.text()


def test_an_order_that_exhausts_its_deliveries_agrees_with_the_network(cluster: Cluster) -> None:
    """A task that keeps killing its worker ends, and its final status is the network's.

    Bug B1 (fixed in 26d2a1c): past ORDER_MAX_DELIVERIES the order was failed without
    asking the network, so a swap that landed was reported failed.
    """
    worker = cluster.start_worker(
        "worker",
        concurrency=2,
        # Longer than billiard's lost-worker detection (up to 10 s before a killed
        # child's task is redelivered), so each delivery still finds the swap in flight.
        DEX_EXECUTE_LATENCY_MS="12000",
        ORDER_MAX_DELIVERIES="2",
        ORDER_STUCK_AFTER_S="60",
        ORDER_WORKER_POOL="prefork",
    )
    [order] = create_orders(1)
    order_id = str(order.public_id)
    publish_execute(cluster, [order.pk])
    for delivery in (1, 2):  # the poison: every delivery dies with its pool child
        wait_until(
            lambda delivery=delivery: (
                statuses([order_id])[order.public_id] == "submitted"
                and deliveries(order_id) == delivery
            ),
            f"delivery {delivery} waiting for its swap",
            20,
        )
        assert kill_pool_children(worker)
    final = wait_all_terminal([order_id], timeout=20, cluster=cluster)
    stored, _ = check_story(order_id)
    assert deliveries(order_id) == 3
    network = network_of(cluster.redis_url)
    assert network.transaction_count(order_id) == 1  # never a second swap
    # The swap that was sent lands (12 s after it was sent): the order must say so.
    signature = (stored.signed_tx or {})["signature"]
    landed = wait_until(
        lambda: (
            network.status(signature).state not in ("pending", "unknown")
            and network.status(signature)
        ),
        "the swap to land",
        10,
    )
    assert landed.state == final[order_id], (landed, final[order_id], stored.error)
