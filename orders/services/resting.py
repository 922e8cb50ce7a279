"""Resting orders (limit, stop, sniper): rest, trigger, cancel and expire.

A resting order waits in ``waiting`` with no worker and no task: its state is the row.
The price monitor (``orders.monitor``) triggers it; an API client cancels it; the monitor
or the sweep expires it. Each of the three is one transition out of ``waiting`` (or
``pending``), a compare-and-set on (``status``, ``last_seq``): whichever claims the order
first wins and the others change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from dex.router import Route
from orders import leases
from orders.models import Order
from orders.notifications import Notifier, default_notifier
from orders.payloads import iso_ms, money
from orders.selectors import order_get
from orders.services.order_queue import OrderQueue, default_order_queue
from orders.services.routing_record import limit_min_out, routing_move
from orders.services.transitions import order_transition

logger = logging.getLogger(__name__)

Status = Order.Status
OrderType = Order.OrderType
# A cancel that keeps losing to other transitions (the monitor, an expiry) stops trying.
_CANCEL_TRIES = 5


def trigger_condition(order: Order) -> dict[str, Any]:
    """The condition a waiting order rests on, as its ``waiting`` event names it."""
    condition: dict[str, Any] = {
        "type": order.order_type,
        "tokenIn": order.token_in,
        "tokenOut": order.token_out,
        "amount": money(order.amount_in),
    }
    if order.order_type == OrderType.LIMIT and order.limit_price is not None:
        condition["limitPrice"] = money(order.limit_price)
        condition["minAmountOut"] = str(
            limit_min_out(
                amount=order.amount_in, limit_price=order.limit_price, token_out=order.token_out
            )
        )
    elif order.order_type == OrderType.STOP:
        condition["stopPrice"] = money(order.stop_price)
    elif order.order_type == OrderType.SNIPER:
        condition["pool"] = f"{order.token_in}/{order.token_out}"
    condition["expiresAt"] = iso_ms(order.expires_at)
    return condition


def order_rest(*, order: Order, notifier: Notifier, error: str | None = None) -> bool:
    """Put the order (back) into ``waiting``: placed, or a limit whose fill fell short."""
    details: dict[str, Any] = {"trigger": trigger_condition(order)}
    changes: dict[str, Any] = {"next_attempt_at": None, "signed_tx": None}
    if error is not None:
        changes["error"] = error
    return order_transition(
        order=order,
        to=Status.WAITING,
        notifier=notifier,
        changes={**changes, **leases.released_fields()},
        event={"error": error, "details": details},
    )


@dataclass(frozen=True)
class TriggeredBy:
    """What met the condition: the executable price for the order's size, and when."""

    price: Decimal | None
    at: datetime
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {"price": money(self.price), "at": iso_ms(self.at), "what": self.what}


def order_trigger(
    *,
    order: Order,
    route: Route,
    triggered_by: TriggeredBy,
    quote_ms: float,
    notifier: Notifier | None = None,
    queue: OrderQueue | None = None,
) -> bool:
    """Claim a waiting order for execution, routed on ``route``; queue it once committed.

    The ``routing`` event that ends the wait carries ``details.triggeredBy``. Returns
    False (nothing written, nothing queued) when a cancel, an expiry or another monitor
    claimed the order first.
    """
    notifier = notifier or default_notifier()
    queue = queue or default_order_queue()
    if order.status != Status.WAITING:
        return False
    changes, event = routing_move(
        order, route, quote_ms=quote_ms, extra_details={"triggeredBy": triggered_by.as_dict()}
    )
    changes["triggered_attempt"] = order.attempts
    moved = order_transition(
        order=order, to=Status.ROUTING, notifier=notifier, changes=changes, event=event
    )
    if moved:
        # After the caller's commit when it batches triggers, else at once.
        transaction.on_commit(partial(queue.enqueue, order_pk=order.pk))
        logger.info(
            "order %s triggered: %s",
            order.public_id,
            triggered_by.what,
            extra={"orderId": str(order.public_id)},
        )
    return moved


class OrderNotFoundError(Exception):
    pass


class CancelConflictError(Exception):
    """The order is past the point where it can be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def order_cancel(*, order_id: str, notifier: Notifier | None = None) -> Order:
    """Cancel a ``pending`` or ``waiting`` order; an order already cancelled is returned.

    Raises ``OrderNotFoundError``, or ``CancelConflictError`` once execution began or the
    order ended otherwise (a trigger or an expiry that claimed it first).
    """
    notifier = notifier or default_notifier()
    for _ in range(_CANCEL_TRIES):
        order = order_get(order_id=order_id)
        if order is None:
            raise OrderNotFoundError(order_id)
        if order.status == Status.CANCELLED:
            return order
        if order.status not in Order.CANCELLABLE:
            raise CancelConflictError(order.status)
        if order_transition(
            order=order,
            to=Status.CANCELLED,
            notifier=notifier,
            changes=leases.released_fields(),
            event={"details": {"cancelledBy": "client"}},
        ):
            logger.info("order %s cancelled", order.public_id, extra={"orderId": order_id})
            return order
    order = order_get(order_id=order_id)
    raise CancelConflictError(order.status if order else "unknown")


def orders_expire_due(
    *, now: datetime | None = None, notifier: Notifier | None = None, limit: int = 500
) -> list[str]:
    """Expire resting orders whose ``expiresAt`` has passed; returns their ids.

    Run by the price monitor every tick and by the sweep (beat), so expiry holds while
    the monitor is down. An order claimed meanwhile (triggered, cancelled) is skipped.
    """
    notifier = notifier or default_notifier()
    now = now or timezone.now()
    # Only ``waiting``: a resting order leaves ``pending`` in the transaction that made it.
    due = Order.objects.filter(status=Status.WAITING, expires_at__lte=now).order_by("expires_at")[
        :limit
    ]
    expired: list[str] = []
    for order in due:
        if order_transition(
            order=order,
            to=Status.EXPIRED,
            notifier=notifier,
            changes={"error": f"expired at {iso_ms(order.expires_at)}"},
            event={"details": {"expiresAt": iso_ms(order.expires_at)}},
        ):
            expired.append(str(order.public_id))
    if expired:
        logger.info("expired %d resting orders", len(expired))
    return expired
