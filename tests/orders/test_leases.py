"""Leases: one delivery of an order's task works on it at a time; a dead one is replaced."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders import aio, leases
from orders.models import Order
from orders.services import swap_steps
from orders.services.execution import LostRace, order_execute
from orders.services.recovery import orders_recover_stuck

Status = Order.Status


def dead_holder() -> str:
    """The name a delivery in a process on this host that has since exited would have had."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}/{process.pid}/12345/0123456789ab"


@pytest.mark.django_db
def test_a_duplicate_of_a_live_delivery_stops_at_once_and_is_not_counted(
    make_order, make_gateway, recorder, start_delivery
):
    order = make_order()
    swap_steps.route(start_delivery(order, notifier=recorder, dex=make_gateway()))
    result = order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    assert result.status == Status.ROUTING and result.retry_in is None
    assert order.deliveries == 1
    assert [event.status for event in order.events.all()] == ["pending", "routing"]


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over(
    make_order, make_gateway, recorder, start_delivery, crash_delivery
):
    order = make_order()
    crashed = start_delivery(order, notifier=recorder, dex=make_gateway())
    swap_steps.route(crashed)
    crash_delivery(crashed)
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED and order.deliveries == 2
    assert order.lease_owner is None and order.lease_until is None  # let go at the end


@pytest.mark.django_db
def test_a_live_lease_whose_holder_died_on_this_host_is_taken_over_at_once(
    make_order, make_gateway, recorder
):
    order = make_order()
    Order.objects.filter(pk=order.pk).update(
        lease_owner=dead_holder(), lease_until=timezone.now() + timedelta(minutes=5)
    )
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED and order.deliveries == 1


@pytest.mark.django_db
def test_a_delivery_that_lost_its_lease_cannot_move_the_order(
    make_order, make_gateway, recorder, start_delivery, crash_delivery
):
    order = make_order()
    slow = start_delivery(order, notifier=recorder, dex=make_gateway())
    swap_steps.route(slow)
    crash_delivery(slow)  # it stalled past its lease...
    start_delivery(order, notifier=recorder, dex=make_gateway())  # ...and was taken over
    with pytest.raises(LostRace):
        swap_steps.build(slow)
    order.refresh_from_db()
    assert order.status == Status.ROUTING and order.signed_tx is None


def test_holders_on_this_host_are_judged_by_their_process():
    assert not leases.holder_gone(leases.new_holder())  # this very process
    assert leases.holder_gone(dead_holder())
    # Another host's holder is never judged from here, only its lease's end.
    assert not leases.holder_gone("elsewhere/1/1/0123456789ab")


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_swap_lands(make_order, make_gateway, recorder, settings):
    settings.ORDER_LEASE_S = 1.0  # renewed every 1/3 s; the swap takes 2.5 s
    order = make_order()
    gateway = make_gateway(execute_latency_s=(2.5, 2.5))

    def deliver() -> None:
        try:
            order_execute(order_pk=order.pk, notifier=recorder, dex=gateway)
        finally:
            connection.close()

    first = threading.Thread(target=deliver)
    first.start()
    deadline = time.monotonic() + 10
    while Order.objects.get(pk=order.pk).status != Status.SUBMITTED:
        assert time.monotonic() < deadline, "the order was never submitted"
        time.sleep(0.05)
    time.sleep(1.5)  # longer than the lease: only renewal keeps it
    duplicate = order_execute(order_pk=order.pk, notifier=recorder, dex=gateway)
    first.join(10)
    order.refresh_from_db()
    assert duplicate.status == Status.SUBMITTED  # it found the lease live and stopped
    assert order.status == Status.CONFIRMED and order.deliveries == 1


@pytest.mark.django_db
def test_the_sweep_hands_on_an_order_held_by_a_dead_process_at_once(make_order):
    order = make_order()
    Order.objects.filter(pk=order.pk).update(
        status=Status.SUBMITTED,
        lease_owner=dead_holder(),
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    report = orders_recover_stuck()
    assert report.requeued_in_flight == [str(order.public_id)]


@pytest.mark.django_db
def test_a_quote_that_times_out_is_a_transient_failure(
    make_order, make_gateway, recorder, settings
):
    settings.DEX_QUOTE_TIMEOUT_S = 0.2
    order = make_order()
    result = order_execute(
        order_pk=order.pk, notifier=recorder, dex=make_gateway(quote_latency_s=2.0)
    )
    order.refresh_from_db()
    assert result.retry_in is not None  # retried like any transient DEX failure
    assert order.next_attempt_at is not None and "QuoteTimeoutError" in order.error
    assert order.lease_owner is None  # the retry finds the lease free


def test_a_timed_out_coroutine_is_cancelled_not_left_running():
    finished = threading.Event()

    async def slow() -> None:
        import asyncio

        await asyncio.sleep(0.5)
        finished.set()

    with pytest.raises(TimeoutError):
        aio.run(slow(), timeout=0.05)
    assert not finished.wait(1.0)
