"""One delivery of an order's task: claim the lease, run the attempt, record how it ended.

Safe to run again at any point (a redelivered or duplicated task): the delivery first
claims the order's lease, so a duplicate of a live delivery stops at once; each step
reads the stored state, asks the network before sending, and claims its transition.
Slow I/O (quotes, the network) happens between transitions, never inside one.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from dex.errors import DexError, SlippageExceededError
from orders import leases
from orders.gateway import DexGateway, default_gateway
from orders.models import Order
from orders.notifications import Notifier, default_notifier
from orders.services import swap_steps
from orders.services.order_queue import OrderQueue, default_order_queue
from orders.services.resting import order_rest
from orders.services.transitions import order_transition

logger = logging.getLogger(__name__)

Status = Order.Status
# Where a delivery stops: the order ended, or it rests with no worker until triggered.
_DELIVERY_ENDS = Order.TERMINAL | {Status.WAITING}


@dataclass(frozen=True)
class ExecutionResult:
    """What the task should do next: nothing, or run again after ``retry_in`` seconds."""

    status: str
    retry_in: float | None = None


def order_deliver(*, order_pk: int, queue: OrderQueue | None = None) -> str:
    """What the task does: execute, then queue the next attempt if one is due later."""
    result = order_execute(order_pk=order_pk)
    if result.retry_in is not None:
        (queue or default_order_queue()).enqueue(order_pk=order_pk, countdown=result.retry_in)
    return result.status


def order_execute(
    *,
    order_pk: int,
    notifier: Notifier | None = None,
    dex: DexGateway | None = None,
) -> ExecutionResult:
    """Drive the order from wherever the database says it is to the end of an attempt."""
    holder = leases.new_holder()
    order = leases.lease_claim(order_pk=order_pk, holder=holder)
    if order is None:
        return _not_ours(order_pk)
    execution = Execution(
        order=order,
        holder=holder,
        notifier=notifier or default_notifier(),
        dex=dex or default_gateway(),
    )
    try:
        if order.deliveries > settings.ORDER_MAX_DELIVERIES:
            # A message that keeps killing its worker must end somewhere.
            with contextlib.suppress(LostRace):
                execution.give_up(f"gave up after {order.deliveries - 1} deliveries of its task")
            return ExecutionResult(execution.order.status)
        return execution.run()
    finally:
        if execution.holds_lease:
            # Stopped early (lost race, database error): let the sweep hand it on now.
            with contextlib.suppress(DatabaseError):
                leases.lease_release(order_pk=order_pk, holder=holder)


def _not_ours(order_pk: int) -> ExecutionResult:
    """Why a delivery could not claim the order: gone, finished, or held by a live one."""
    row = Order.objects.filter(pk=order_pk).values_list("public_id", "status").first()
    if row is None:
        return ExecutionResult("missing")
    order_id, status = row
    if status not in Order.TERMINAL:
        logger.info(
            "order %s is held by a live delivery; this duplicate stops",
            order_id,
            extra={"orderId": str(order_id)},
        )
    return ExecutionResult(status)


def retry_delay(*, attempt: int) -> float:
    """Exponential back-off with bounded jitter (±10 %): 1 s, 2 s, 4 s... by default."""
    base = settings.ORDER_RETRY_BACKOFF_S * 2 ** (attempt - 1)
    return base * random.uniform(0.9, 1.1)


class LostRace(Exception):
    """Another worker moved the order; this one stops."""


class Execution:
    """A delivery holding the order's lease; the steps in ``swap_steps`` move it on."""

    def __init__(self, *, order: Order, holder: str, notifier: Notifier, dex: DexGateway) -> None:
        self.order = order
        self.holder = holder
        self.holds_lease = True
        self.lease_renewed_at = time.monotonic()
        self.notifier = notifier
        self.dex = dex
        # DEX time of a landed-but-failed fill, recorded with the failure.
        self.pending_dex_ms = 0.0

    @property
    def log_extra(self) -> dict[str, str]:
        return {"orderId": str(self.order.public_id)}

    def run(self) -> ExecutionResult:
        try:
            while self.order.status not in _DELIVERY_ENDS:
                try:
                    self._step()
                except DexError as exc:
                    retry_in = self._attempt_failed(exc)
                    if retry_in is not None:
                        return ExecutionResult(self.order.status, retry_in)
        except LostRace:
            logger.info(
                "order %s moved on elsewhere; this delivery stops",
                self.order.public_id,
                extra=self.log_extra,
            )
        return ExecutionResult(self.order.status)

    def _step(self) -> None:
        order = self.order
        if order.status == Status.PENDING and order.is_resting:
            # Normally rested by its creation; a stray task must not execute it early.
            self._rest(None)
        elif order.status == Status.PENDING or order.next_attempt_at is not None:
            swap_steps.route(self)
        elif order.status == Status.ROUTING:
            swap_steps.build(self)
        elif order.status == Status.BUILDING:
            swap_steps.submit(self)
        elif order.status == Status.SUBMITTED:
            swap_steps.await_landing(self)

    def move(self, to: str, **kwargs: Any) -> None:
        """Make the transition as the lease holder, or stop: somebody else moved it."""
        moved = order_transition(
            order=self.order, to=to, notifier=self.notifier, holder=self.holder, **kwargs
        )
        if not moved:
            raise LostRace
        self.lease_renewed_at = time.monotonic()
        if to in _DELIVERY_ENDS:
            self.holds_lease = False

    def _rest(self, error: str | None) -> None:
        """Back to ``waiting`` (the lease goes with the same statement)."""
        if not order_rest(order=self.order, notifier=self.notifier, error=error):
            raise LostRace
        self.holds_lease = False

    def keep_lease(self) -> None:
        """Renew the lease when a third of it has passed; stop if it was taken over."""
        if time.monotonic() - self.lease_renewed_at < leases.renew_every_s():
            return
        if not leases.lease_renew(order_pk=self.order.pk, holder=self.holder):
            self.holds_lease = False
            raise LostRace
        self.lease_renewed_at = time.monotonic()

    def pause(self, seconds: float) -> None:
        """Sleep without letting the lease run out."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, leases.renew_every_s()))
            self.keep_lease()

    def give_up(self, reason: str) -> None:
        """End an order whose task keeps dying, agreeing with the network.

        A transaction it already sent may still land: ask (never send) and record what
        happened; only an order with nothing on the network is failed outright.
        """
        order = self.order
        if order.signed_tx and order.status in (Status.BUILDING, Status.SUBMITTED):
            status = swap_steps.wait_for_network(self, rebroadcast=False)
            if status.state == "confirmed":
                if order.status == Status.BUILDING:
                    self.move(Status.SUBMITTED, changes={"tx_hash": order.signed_tx["signature"]})
                swap_steps.record_landing(self, status)
                return
            if status.state == "failed":
                reason = f"{reason}; its last transaction failed: {status.error}"
        self.fail(reason)

    def _attempt_failed(self, exc: DexError) -> float | None:
        """Record a failed attempt. Returns the back-off before the next, or None if final."""
        order = self.order
        reason = f"{type(exc).__name__}: {exc}"
        if order.order_type == Order.OrderType.LIMIT and isinstance(exc, SlippageExceededError):
            # A limit never fills below its price: it rests until it can, or expires.
            logger.info(
                "limit order %s rests again: %s", order.public_id, reason, extra=self.log_extra
            )
            self._rest(reason)
            return None
        attempt = max(order.attempts, 1)
        # A resting order's attempts count from its last trigger.
        final = (
            not exc.transient or attempt - order.triggered_attempt >= settings.ORDER_MAX_ATTEMPTS
        )
        logger.warning(
            "order %s attempt %s/%s failed (%s): %s",
            order.public_id,
            attempt,
            settings.ORDER_MAX_ATTEMPTS,
            "final" if final else "will retry",
            reason,
            extra=self.log_extra,
        )
        if final:
            if exc.transient:
                reason = f"failed after {attempt} attempts; last error: {reason}"
            self.fail(reason)
            return None
        retry_in = retry_delay(attempt=attempt)
        now = timezone.now()
        changes = {
            "error": reason,
            "next_attempt_at": now + timedelta(seconds=retry_in),
            "updated_at": now,
            "dex_time_ms": order.dex_time_ms + self.pending_dex_ms,
            # The retry is a new delivery: it must find the lease free.
            **leases.released_fields(),
        }
        updated = Order.objects.filter(
            pk=order.pk,
            status=order.status,
            last_seq=order.last_seq,
            next_attempt_at=None,
            lease_owner=self.holder,
        ).update(**changes)
        if not updated:
            raise LostRace
        self.holds_lease = False
        for name, value in changes.items():
            setattr(order, name, value)
        self.pending_dex_ms = 0.0
        return retry_in

    def fail(self, reason: str) -> None:
        changes = {"error": reason, "dex_time_ms": self.order.dex_time_ms + self.pending_dex_ms}
        self.move(Status.FAILED, changes=changes, event={"error": reason})
