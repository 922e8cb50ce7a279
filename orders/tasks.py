"""Celery tasks: thin doors into ``orders.services``. They receive ids, never objects."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from orders.services.execution import order_deliver
from orders.services.recovery import orders_recover_stuck
from orders.services.resting import orders_expire_due

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_order(order_pk: int) -> str:
    return order_deliver(order_pk=order_pk)


@shared_task(ignore_result=True)
def recover_orders() -> int:
    return orders_recover_stuck().total


@shared_task(ignore_result=True)
def expire_orders() -> int:
    """Expiry holds while the price monitor is down (it also expires, every tick)."""
    return len(orders_expire_due())


@worker_ready.connect
def recover_on_start(**_: Any) -> None:
    """A worker that starts after a crash picks up what the crashed one left behind."""
    try:
        recover_orders.delay()
    except Exception:
        logger.exception("could not queue the start-up recovery sweep")
