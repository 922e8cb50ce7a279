"""The seam between the order services and the execution queue.

Services take an ``OrderQueue`` the way they take a ``Notifier``. The Celery one lives in
``orders.celery_queue``, the only module that imports the tasks; the app registers it at
start-up (``OrdersConfig.ready``), so the services never import the tasks that call them.
"""

from __future__ import annotations

from typing import Protocol


class OrderQueue(Protocol):
    def enqueue(self, *, order_pk: int, countdown: float | None = None) -> None:
        """Hand the order to a worker, now or after ``countdown`` seconds.

        Must not raise: an order that could not be queued is left to the recovery sweep.
        """


class NullOrderQueue:
    """Queues nothing: for orders a test or a tool hands to the workers itself."""

    def enqueue(self, *, order_pk: int, countdown: float | None = None) -> None:
        return None


_default: OrderQueue | None = None


def use_order_queue(queue: OrderQueue) -> None:
    """Make ``queue`` the one services use when the caller passes none."""
    global _default
    _default = queue


def default_order_queue() -> OrderQueue:
    if _default is None:
        raise RuntimeError("no order queue registered: is the orders app installed?")
    return _default
