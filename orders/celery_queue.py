"""The execution queue on Celery: the one module that imports the tasks to enqueue them."""

from __future__ import annotations

import logging

from orders.tasks import execute_order

logger = logging.getLogger(__name__)


class CeleryOrderQueue:
    def enqueue(self, *, order_pk: int, countdown: float | None = None) -> None:
        """Publish ``execute_order``. A failure leaves the order to the recovery sweep."""
        try:
            if countdown is None:
                execute_order.apply_async((order_pk,))
            else:
                execute_order.apply_async((order_pk,), countdown=countdown)
        except Exception:
            logger.exception("could not enqueue order pk=%s; the sweep will retry", order_pk)
