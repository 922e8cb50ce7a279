"""Celery tasks: thin doors into ``orders.services``. They receive ids, never objects."""

from __future__ import annotations

from celery import shared_task

from orders import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_order(order_pk: int) -> str:
    result = services.order_execute(order_pk=order_pk)
    if result.retry_in is not None:
        services.order_enqueue(order_pk=order_pk, countdown=result.retry_in)
    return result.status
