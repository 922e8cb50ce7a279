"""Executing orders through the service against real PostgreSQL and the Redis-backed network."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from dex.venues import MeteoraDex
from orders.gateway import DexGateway
from orders.models import Order, OrderEvent
from orders.services import swap_steps
from orders.services.execution import order_execute, retry_delay

Status = Order.Status


def run_to_end(order: Order, gateway: DexGateway, recorder, max_runs: int = 10) -> list[float]:
    """Run the order like the task would, following each requested retry. Returns back-offs."""
    backoffs = []
    for _ in range(max_runs):
        result = order_execute(order_pk=order.pk, notifier=recorder, dex=gateway)
        if result.retry_in is None:
            return backoffs
        backoffs.append(result.retry_in)
    raise AssertionError("order did not finish")


def events_of(order: Order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order).order_by("seq"))


@pytest.mark.django_db
def test_an_order_runs_through_every_status_to_confirmed(make_order, make_gateway, recorder):
    gateway = make_gateway()
    order = make_order()
    assert run_to_end(order, gateway, recorder) == []
    order.refresh_from_db()
    events = events_of(order)
    assert [(e.seq, e.status) for e in events] == [
        (1, "pending"),
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]
    routing, confirmed = events[1], events[4]
    assert set(routing.quotes) == {"raydium", "meteora"}
    assert routing.dex == order.dex in {"raydium", "meteora"}
    assert routing.details["reason"].startswith(order.dex)
    assert order.route["path"] == "wSOL -> USDC"
    assert isinstance(order.amount_out, Decimal) and order.amount_out >= order.min_amount_out
    assert confirmed.tx_hash == order.tx_hash == order.signed_tx["signature"]
    assert confirmed.amount_out == order.amount_out
    assert order.attempts == 1 and order.error is None and order.finished_at is not None
    assert gateway.network.transaction_count(str(order.public_id)) == 1


@pytest.mark.django_db
def test_transient_failures_end_failed_after_exactly_three_attempts(
    make_order, make_gateway, recorder, settings
):
    settings.ORDER_MAX_ATTEMPTS = 3
    settings.ORDER_RETRY_BACKOFF_S = 0.01
    gateway = make_gateway(failure_rate=1.0)
    order = make_order()
    backoffs = run_to_end(order, gateway, recorder)
    order.refresh_from_db()
    assert order.status == Status.FAILED
    assert order.attempts == 3
    assert len(backoffs) == 2 and backoffs[0] < backoffs[1]  # exponential
    routings = [e for e in events_of(order) if e.status == Status.ROUTING]
    assert [e.attempt for e in routings] == [1, 2, 3]
    assert routings[0].error is None
    assert all(e.error for e in routings[1:])  # each retry carries the previous error
    failed = events_of(order)[-1]
    assert failed.status == Status.FAILED and failed.attempt == 3
    assert "after 3 attempts" in order.error and failed.error == order.error
    assert gateway.network.transaction_count(str(order.public_id)) == 0


@pytest.mark.django_db
def test_a_permanent_error_fails_at_once_without_retry(make_order, make_gateway, recorder):
    base = make_gateway()
    # Only Meteora answers, and it has no RAY pool: there is no route, now or later.
    gateway = DexGateway(
        venues={"meteora": base.venues["meteora"]},
        network=base.network,
        market_events=base.market_events,
    )
    assert isinstance(gateway.venues["meteora"], MeteoraDex)
    order = make_order(token_in="RAY", token_out="USDC", amount=Decimal(10))
    assert run_to_end(order, gateway, recorder) == []
    order.refresh_from_db()
    assert order.status == Status.FAILED
    assert "NoRouteError" in order.error
    assert [e.status for e in events_of(order)] == ["pending", "failed"]


@pytest.mark.django_db
def test_a_fill_below_the_minimum_is_a_transient_failure(
    make_order, make_gateway, recorder, start_delivery
):
    gateway = make_gateway()
    order = make_order()
    execution = start_delivery(order, notifier=recorder, dex=gateway)
    swap_steps.route(execution)
    # Pretend the quote was far better than the market will be at landing.
    Order.objects.filter(pk=order.pk).update(min_amount_out=Decimal(10**6))
    order.refresh_from_db()
    execution.order = order
    result = execution.run()
    order.refresh_from_db()
    assert result.retry_in is not None
    assert order.next_attempt_at is not None
    assert "SlippageExceededError" in order.error


@pytest.mark.django_db
@pytest.mark.parametrize("crash_after", ["routing", "building", "sent-not-recorded", "submitted"])
def test_a_restarted_worker_resumes_without_sending_twice(
    make_order, make_gateway, recorder, crash_after, start_delivery, crash_delivery
):
    gateway = make_gateway(execute_latency_s=(0.05, 0.05))
    order = make_order()
    crashed = start_delivery(order, notifier=recorder, dex=gateway)
    swap_steps.route(crashed)
    if crash_after != "routing":
        swap_steps.build(crashed)
    if crash_after == "sent-not-recorded":
        # The worker died after the network accepted the swap, before the DB knew.
        gateway.network.submit(crashed.order.signed_tx)
    if crash_after == "submitted":
        swap_steps.submit(crashed)
    crash_delivery(crashed)
    # A fresh delivery picks the order up from the database.
    assert run_to_end(order, gateway, recorder) == []
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED
    assert order.attempts == 1
    assert gateway.network.transaction_count(str(order.public_id)) == 1
    seqs = [e.seq for e in events_of(order)]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db
def test_a_transaction_the_network_forgot_is_rebroadcast_not_resigned(
    make_order, make_gateway, recorder, redis_client, start_delivery, crash_delivery
):
    gateway = make_gateway(execute_latency_s=(0.05, 0.05))
    order = make_order()
    crashed = start_delivery(order, notifier=recorder, dex=gateway)
    swap_steps.route(crashed)
    swap_steps.build(crashed)
    swap_steps.submit(crashed)
    crash_delivery(crashed)
    signature = crashed.order.signed_tx["signature"]
    redis_client.delete(f"dexnet:tx:{signature}")  # e.g. the network's store restarted
    assert run_to_end(order, gateway, recorder) == []
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED
    assert order.tx_hash == signature


@pytest.mark.django_db
def test_an_order_whose_task_keeps_dying_ends_failed(make_order, make_gateway, recorder, settings):
    settings.ORDER_MAX_DELIVERIES = 3
    order = make_order()
    Order.objects.filter(pk=order.pk).update(deliveries=3)
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    assert order.status == Status.FAILED
    assert "deliveries" in order.error


def test_back_off_doubles_with_bounded_jitter(settings):
    settings.ORDER_RETRY_BACKOFF_S = 1.0
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0)):
        delays = [retry_delay(attempt=attempt) for _ in range(200)]
        assert min(delays) >= base * 0.9 and max(delays) <= base * 1.1


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_execute_the_order_once(make_order, make_gateway, recorder):
    gateway = make_gateway(quote_latency_s=0.05, execute_latency_s=(0.2, 0.2))
    order = make_order()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            run_to_end(order, gateway, recorder)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED
    events = events_of(order)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.status for e in events].count("confirmed") == 1
    assert gateway.network.transaction_count(str(order.public_id)) == 1
