"""Creating orders: the row and its first event in one statement, Idempotency-Key replays."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import statements
from orders.models import Order, OrderEvent
from orders.notifications import Notifier, default_notifier
from orders.payloads import event_message
from orders.services.order_queue import OrderQueue, default_order_queue
from orders.services.resting import order_rest

logger = logging.getLogger(__name__)


class IdempotencyConflictError(Exception):
    """The Idempotency-Key was used before with a different body."""


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def request_fingerprint(
    *,
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage_bps: int,
    order_type: str,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> str:
    """What makes two bodies the same order (the expiry is left out: ``expiresInS`` is
    relative, so a replay a second later names another instant for the same intent)."""
    fields: list[object] = [token_in, token_out, _exact(amount), slippage_bps, order_type]
    if limit_price is not None or stop_price is not None:
        fields += [_exact(limit_price), _exact(stop_price)]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def order_create(
    *,
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage_bps: int,
    order_type: str = Order.OrderType.MARKET,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
    notifier: Notifier | None = None,
    queue: OrderQueue | None = None,
) -> tuple[Order, bool]:
    """Store a pending order with its first event and queue it once committed.

    A resting order (limit, stop, sniper) is not queued: in the same transaction it moves
    on to ``waiting``, where the price monitor finds it.

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
        limit_price=limit_price,
        stop_price=stop_price,
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
            limit_price=limit_price,
            stop_price=stop_price,
            expires_at=expires_at,
            status=Order.Status.PENDING,
            last_seq=1,
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
        )
        event = OrderEvent(
            seq=1, status=Order.Status.PENDING, at=now, details={"queuedAt": now.timestamp()}
        )
        if order.is_resting:
            with transaction.atomic():
                statements.order_insert_with_event(order=order, event=event, now=now)
                _publish_created(order, event, notifier)
                order_rest(order=order, notifier=notifier)
            _log_created(order)
            return order, True
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
    _publish_created(order, event, notifier)
    transaction.on_commit(partial(queue.enqueue, order_pk=order.pk))
    _log_created(order)
    return order, True


def _publish_created(order: Order, event: OrderEvent, notifier: Notifier) -> None:
    transaction.on_commit(
        partial(notifier.publish, event_message(event, order_id=str(order.public_id)), wait=True)
    )


def _log_created(order: Order) -> None:
    logger.info(
        "%s order %s created: %s %s -> %s",
        order.order_type,
        order.public_id,
        order.amount_in,
        order.token_in,
        order.token_out,
        extra={"orderId": str(order.public_id)},
    )


def _idempotent_replay(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise IdempotencyConflictError(
            "this Idempotency-Key was already used with a different request body"
        )
    return order
