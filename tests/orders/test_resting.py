"""Resting orders against the real database and Redis: rest, trigger, cancel, expire.

The price monitor's tick is driven directly (no sleeping loop); execution runs the same
``order_execute`` a Celery worker runs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Order, OrderEvent
from orders.monitor.loop import PriceMonitor
from orders.monitor.prices import ExecutablePrices
from orders.services.execution import order_execute
from orders.services.market_controls import market_launch, market_move
from orders.services.resting import (
    CancelConflictError,
    order_cancel,
    orders_expire_due,
)

Status = Order.Status
pytestmark = pytest.mark.django_db(transaction=True)


class ListQueue:
    def __init__(self) -> None:
        self.queued: list[int] = []

    def enqueue(self, *, order_pk: int, countdown: float | None = None) -> None:
        self.queued.append(order_pk)


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


@pytest.fixture
def queue() -> ListQueue:
    return ListQueue()


@pytest.fixture
def monitor(gateway, recorder, queue) -> PriceMonitor:
    return PriceMonitor(gateway=gateway, notifier=recorder, queue=queue)


def price_now(gateway, token_in="SOL", token_out="USDC", amount="1.5") -> Decimal:
    price = ExecutablePrices(gateway.venues, time.time()).price(
        token_in, token_out, Decimal(amount)
    )
    assert price is not None
    return price


def statuses(order: Order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order).order_by("seq").values_list("status", flat=True)
    )


def resting(make_order, **fields) -> Order:
    values = {"expires_at": timezone.now() + timedelta(hours=1), **fields}
    return make_order(**values)


def test_a_resting_order_waits_with_its_condition_and_is_not_queued(make_order, recorder, queue):
    order = resting(
        make_order, order_type="limit", limit_price=Decimal("1000"), slippage_bps=0, queue=queue
    )
    order.refresh_from_db()
    assert order.status == Status.WAITING
    assert statuses(order) == ["pending", "waiting"]
    assert queue.queued == []
    waiting = OrderEvent.objects.get(order=order, seq=2)
    assert waiting.details["trigger"]["type"] == "limit"
    assert waiting.details["trigger"]["limitPrice"] == "1000"
    assert waiting.details["trigger"]["minAmountOut"] == "1500.000000"
    assert [m["status"] for m in recorder.messages] == ["pending", "waiting"]


def test_a_limit_triggers_when_the_executable_price_reaches_it(
    make_order, gateway, monitor, queue, recorder
):
    price = price_now(gateway)
    far = resting(make_order, order_type="limit", limit_price=price * 2, slippage_bps=0)
    near = resting(
        make_order, order_type="limit", limit_price=price * Decimal("0.98"), slippage_bps=0
    )
    report = monitor.tick()
    assert report.triggered == 1
    near.refresh_from_db()
    far.refresh_from_db()
    assert (near.status, far.status) == (Status.ROUTING, Status.WAITING)
    assert queue.queued == [near.pk]
    routing = OrderEvent.objects.get(order=near, status="routing")
    triggered = routing.details["triggeredBy"]
    assert Decimal(triggered["price"]) >= near.limit_price
    assert "limit" in triggered["what"]
    assert routing.quotes and routing.dex
    # The minimum output is the limit's, not a slippage bound.
    assert near.min_amount_out == (near.amount_in * near.limit_price).quantize(
        Decimal("0.000001"), rounding="ROUND_CEILING"
    )
    # Executed by the same code as a market order.
    order_execute(order_pk=near.pk, notifier=recorder, dex=gateway)
    near.refresh_from_db()
    assert near.status == Status.CONFIRMED
    assert near.amount_out >= near.min_amount_out
    assert statuses(near) == ["pending", "waiting", "routing", "building", "submitted", "confirmed"]


def test_a_stop_triggers_after_a_market_move_down(make_order, gateway, monitor, queue):
    price = price_now(gateway)
    stop = resting(make_order, order_type="stop", stop_price=price * Decimal("0.95"))
    assert monitor.tick().triggered == 0
    market_move(symbol="SOL", percent="-10", gateway=gateway)
    time.sleep(0.4)  # the move takes effect a moment after it is recorded
    assert monitor.tick().triggered == 1
    stop.refresh_from_db()
    assert stop.status == Status.ROUTING
    assert queue.queued == [stop.pk]


def test_a_sniper_waits_for_its_pool_then_triggers(make_order, gateway, monitor, queue):
    sniper = resting(
        make_order,
        order_type="sniper",
        token_in="USDC",
        token_out="NOVA",
        amount=Decimal(100),
        slippage_bps=500,
    )
    assert monitor.tick().triggered == 0
    said = market_launch(symbol="NOVA", gateway=gateway)
    assert "NOVA/USDC pool opened on raydium" in said
    time.sleep(0.4)
    assert monitor.tick().triggered == 1
    sniper.refresh_from_db()
    assert sniper.status == Status.ROUTING
    routing = OrderEvent.objects.get(order=sniper, status="routing")
    assert "opened" in routing.details["triggeredBy"]["what"]


def test_cancel_a_waiting_order_then_again_and_the_monitor_does_not_trigger_it(
    make_order, gateway, monitor, recorder
):
    price = price_now(gateway)
    order = resting(
        make_order, order_type="limit", limit_price=price * Decimal("0.5"), slippage_bps=0
    )
    cancelled = order_cancel(order_id=str(order.public_id), notifier=recorder)
    assert cancelled.status == Status.CANCELLED
    assert order_cancel(order_id=str(order.public_id), notifier=recorder).status == Status.CANCELLED
    assert monitor.tick().triggered == 0
    assert statuses(order) == ["pending", "waiting", "cancelled"]


def test_cancel_after_the_trigger_is_a_conflict(make_order, gateway, monitor, recorder):
    price = price_now(gateway)
    order = resting(
        make_order, order_type="limit", limit_price=price * Decimal("0.5"), slippage_bps=0
    )
    assert monitor.tick().triggered == 1
    with pytest.raises(CancelConflictError) as conflict:
        order_cancel(order_id=str(order.public_id), notifier=recorder)
    assert conflict.value.status == Status.ROUTING


def test_a_pending_market_order_can_be_cancelled_and_its_task_then_does_nothing(
    make_order, gateway, recorder
):
    order = make_order()
    order_cancel(order_id=str(order.public_id), notifier=recorder)
    result = order_execute(order_pk=order.pk, notifier=recorder, dex=gateway)
    assert result.status == Status.CANCELLED
    assert statuses(order) == ["pending", "cancelled"]


def test_expiry_ends_a_waiting_order_and_nothing_triggers_it_after(
    make_order, gateway, monitor, recorder
):
    price = price_now(gateway)
    order = resting(make_order, order_type="limit", limit_price=price * 3, slippage_bps=0)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(milliseconds=1))
    assert orders_expire_due(notifier=recorder) == [str(order.public_id)]
    assert orders_expire_due(notifier=recorder) == []
    order.refresh_from_db()
    assert order.status == Status.EXPIRED
    assert order.finished_at is not None
    with pytest.raises(CancelConflictError):
        order_cancel(order_id=str(order.public_id), notifier=recorder)
    assert monitor.tick().triggered == 0


def test_an_order_already_due_when_the_monitor_starts_expires_rather_than_triggers(
    make_order, gateway, monitor
):
    price = price_now(gateway)
    order = resting(
        make_order, order_type="limit", limit_price=price * Decimal("0.5"), slippage_bps=0
    )
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    report = monitor.tick()
    assert (report.expired, report.triggered) == (1, 0)
    order.refresh_from_db()
    assert order.status == Status.EXPIRED


def test_a_limit_whose_fill_falls_short_rests_again_and_keeps_its_attempts(
    make_order, gateway, monitor, recorder
):
    price = price_now(gateway)
    order = resting(
        make_order, order_type="limit", limit_price=price * Decimal("0.99"), slippage_bps=0
    )
    assert monitor.tick().triggered == 1
    # Before it lands, the market falls through the limit.
    market_move(symbol="SOL", percent="-20", gateway=gateway)
    time.sleep(0.4)
    order_execute(order_pk=order.pk, notifier=recorder, dex=gateway)
    order.refresh_from_db()
    assert order.status == Status.WAITING
    assert "minimum" in (order.error or "")
    assert order.lease_owner is None
    assert statuses(order)[-1] == "waiting"
    rested = OrderEvent.objects.filter(order=order).order_by("-seq").first()
    assert rested.error and rested.details["trigger"]["type"] == "limit"
    # Not triggered again while the price stays below; triggered once it is back.
    assert monitor.tick().triggered == 0
    market_move(symbol="SOL", percent="30", gateway=gateway)
    time.sleep(0.4)
    assert monitor.tick().triggered == 1


def test_two_monitors_and_a_cancel_race_one_order_and_exactly_one_wins(
    make_order, gateway, recorder, queue
):
    price = price_now(gateway)
    orders = [
        resting(make_order, order_type="limit", limit_price=price * Decimal("0.5"), slippage_bps=0)
        for _ in range(10)
    ]
    monitors = [PriceMonitor(gateway=gateway, notifier=recorder, queue=queue) for _ in range(2)]
    for monitor in monitors:
        monitor.catch_up()
    barrier = threading.Barrier(3)
    cancels: list[str] = []

    def run_monitor(monitor: PriceMonitor) -> None:
        barrier.wait()
        try:
            monitor.tick()
        finally:
            connection.close()

    def run_cancels() -> None:
        barrier.wait()
        try:
            for order in orders:
                with contextlib.suppress(CancelConflictError):
                    cancels.append(
                        order_cancel(order_id=str(order.public_id), notifier=recorder).status
                    )
        finally:
            connection.close()

    threads = [threading.Thread(target=run_monitor, args=(m,)) for m in monitors]
    threads.append(threading.Thread(target=run_cancels))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for order in orders:
        order.refresh_from_db()
        ends = [s for s in statuses(order) if s in ("routing", "cancelled")]
        assert len(ends) == 1, statuses(order)
        assert order.status in (Status.ROUTING, Status.CANCELLED)
    triggered = [o.pk for o in orders if o.status == Status.ROUTING]
    assert sorted(queue.queued) == sorted(triggered)
    assert len(cancels) == len(orders) - len(triggered)


def test_expiry_trigger_and_cancel_racing_on_many_orders_each_end_one_way(
    make_order, gateway, recorder, queue
):
    price = price_now(gateway)
    deadline = timezone.now() + timedelta(milliseconds=300)
    orders = [
        resting(
            make_order,
            order_type="limit",
            limit_price=price * Decimal("0.5"),
            slippage_bps=0,
            expires_at=deadline,
        )
        for _ in range(12)
    ]
    monitor = PriceMonitor(gateway=gateway, notifier=recorder, queue=queue)
    monitor.catch_up()
    # Everyone starts as the orders are about to expire.
    time.sleep(max(0.0, (deadline - timezone.now()).total_seconds() - 0.01))
    barrier = threading.Barrier(3)

    def expire() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                orders_expire_due(notifier=recorder)
                time.sleep(0.005)
        finally:
            connection.close()

    def trigger() -> None:
        barrier.wait()
        try:
            monitor.tick()
        finally:
            connection.close()

    def cancel() -> None:
        barrier.wait()
        try:
            for order in reversed(orders):
                with contextlib.suppress(CancelConflictError):
                    order_cancel(order_id=str(order.public_id), notifier=recorder)
        finally:
            connection.close()

    threads = [threading.Thread(target=f) for f in (expire, trigger, cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    orders_expire_due(notifier=recorder)
    endings = {"routing", "cancelled", "expired"}
    for order in orders:
        order.refresh_from_db()
        seen = [s for s in statuses(order) if s in endings]
        assert len(seen) == 1, statuses(order)
        assert order.status == seen[0]
    triggered = {o.pk for o in orders if o.status == Status.ROUTING}
    assert set(queue.queued) == triggered
