"""The recovery sweep: the orders table is the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orders import leases
from orders.models import Order
from orders.services.order_queue import OrderQueue, default_order_queue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryReport:
    requeued_pending: list[str]
    requeued_in_flight: list[str]
    requeued_retries: list[str]

    @property
    def total(self) -> int:
        return (
            len(self.requeued_pending) + len(self.requeued_in_flight) + len(self.requeued_retries)
        )


def orders_recover_stuck(
    *, stuck_after_s: float | None = None, queue: OrderQueue | None = None
) -> RecoveryReport:
    """Queue again the orders whose task vanished (worker killed, broker restarted, publish lost).

    An order in flight whose lease ran out, or whose holder's process is gone from this
    host, has nobody working on it; so has a retry whose back-off ended a lease's length
    ago, and a ``pending`` order nobody picked up for ``stuck_after_s``. Each gets a new
    task, at most once per interval (``requeued_at``), so a long backlog is not queued
    again at every sweep. That is always safe: the new delivery claims the lease or
    stops, resumes from the stored state, and asks the network before sending.
    """
    queue = queue or default_order_queue()
    stuck_after_s = settings.ORDER_STUCK_AFTER_S if stuck_after_s is None else stuck_after_s
    now = timezone.now()
    stuck_since = now - timedelta(seconds=stuck_after_s)
    lease_ago = now - timedelta(seconds=settings.ORDER_LEASE_S)
    orders = Order.objects
    groups = {
        "pending": orders.pending_since_before(stuck_since).not_requeued_since(stuck_since),
        "in_flight": orders.executing().not_requeued_since(lease_ago),
        "retries": orders.waiting_to_retry(due_before=lease_ago).not_requeued_since(lease_ago),
    }
    found: dict[str, list[int]] = {}
    for name, stuck in groups.items():
        free = leases.orders_with_free_lease(stuck).order_by("created_at")
        found[name] = list(free.values_list("pk", flat=True)[:1000])
    # Held, but by a process that died on this host (a fresh worker after a crash). These
    # leases are live, so none of them is among the free ones found above.
    found["in_flight"] += leases.orders_held_by_gone_holders(
        orders.filter(status__in=[Order.Status.PENDING, *Order.IN_FLIGHT])
    )

    requeued = {pk for pks in found.values() for pk in pks}
    if requeued:
        orders.filter(pk__in=requeued).update(requeued_at=now)
    order_ids = dict(orders.filter(pk__in=requeued).values_list("pk", "public_id"))
    for name, pks in found.items():
        for pk in pks:
            queue.enqueue(order_pk=pk)
        if pks:
            logger.warning("recovery: re-queued %d %s orders", len(pks), name)
    return RecoveryReport(
        requeued_pending=[str(order_ids[pk]) for pk in found["pending"]],
        requeued_in_flight=[str(order_ids[pk]) for pk in found["in_flight"]],
        requeued_retries=[str(order_ids[pk]) for pk in found["retries"]],
    )
