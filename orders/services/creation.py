"""Creating orders: the row and its first event in one statement, Idempotency-Key replays."""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import statements
from orders.models import Order, OrderEvent
from orders.notifications import Notifier, default_notifier
from orders.payloads import event_message
from orders.services.order_queue import OrderQueue, default_order_queue

logger = logging.getLogger(__name__)


class IdempotencyConflictError(Exception):
    """The Idempotency-Key was used before with a different body."""


def request_fingerprint(
    *, token_in: str, token_out: str, amount: Decimal, slippage_bps: int, order_type: str
) -> str:
    canonical = json.dumps(
        [token_in, token_out, format(amount.normalize(), "f"), slippage_bps, order_type]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_create(
    *,
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage_bps: int,
    order_type: str = Order.OrderType.MARKET,
    idempotency_key: str | None = None,
    notifier: Notifier | None = None,
    queue: OrderQueue | None = None,
) -> tuple[Order, bool]:
    """Store a pending order with its first event and queue it once committed.

    Returns ``(order, created)``; ``created`` is False when the Idempotency-Key was seen
    before with the same body. Two requests racing with one key meet at the unique index.
    """
    notifier = notifier or default_notifier()
    queue = queue or default_order_queue()
    fingerprint = request_fingerprint(
        token_in=token_in,
        token_out=token_out,
        amount=amount,
        slippage_bps=slippage_bps,
        order_type=order_type,
    )
    if idempotency_key:
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _idempotent_replay(existing, fingerprint), False
    try:
        now = timezone.now()
        order = Order(
            token_in=token_in,
            token_out=token_out,
            amount_in=amount,
            slippage_bps=slippage_bps,
            order_type=order_type,
            status=Order.Status.PENDING,
            last_seq=1,
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
        )
        event = OrderEvent(
            seq=1, status=Order.Status.PENDING, at=now, details={"queuedAt": now.timestamp()}
        )
        # One statement, so its own transaction: the row and its first event, or neither.
        statements.order_insert_with_event(order=order, event=event, now=now)
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _idempotent_replay(existing, fingerprint), False
    # Publish, then queue: the worker's `routing` must not reach the stream first. After
    # the caller's commit when it holds a transaction open, else at once.
    transaction.on_commit(
        partial(notifier.publish, event_message(event, order_id=str(order.public_id)), wait=True)
    )
    transaction.on_commit(partial(queue.enqueue, order_pk=order.pk))
    logger.info(
        "order %s created: %s %s -> %s, slippage %s bps",
        order.public_id,
        amount,
        token_in,
        token_out,
        slippage_bps,
        extra={"orderId": str(order.public_id)},
    )
    return order, True


def _idempotent_replay(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise IdempotencyConflictError(
            "this Idempotency-Key was already used with a different request body"
        )
    return order
