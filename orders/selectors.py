"""Reads of orders for the API, the admin-facing pages and the WebSocket replay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from orders import statements
from orders.models import Order, OrderEvent


def parse_order_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except (ValueError, AttributeError, TypeError):
        return None


def order_get(*, order_id: str | uuid.UUID) -> Order | None:
    parsed = order_id if isinstance(order_id, uuid.UUID) else parse_order_id(order_id)
    if parsed is None:
        return None
    return Order.objects.filter(public_id=parsed).first()


def order_list(
    *, status: str | None = None, token_in: str | None = None, token_out: str | None = None
) -> QuerySet[Order]:
    orders = Order.objects.all().order_by("-created_at", "-id")
    if status:
        orders = orders.filter(status=status)
    if token_in:
        orders = orders.filter(token_in=token_in.upper())
    if token_out:
        orders = orders.filter(token_out=token_out.upper())
    return orders


def order_events(*, order: Order, after_seq: int = 0) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, seq__gt=after_seq).order_by("seq"))


def order_events_by_public_id(*, order_id: uuid.UUID, after_seq: int = 0) -> list[OrderEvent]:
    """One query for a socket: every order has its ``pending`` event from the statement
    that created it, so no events after seq 0 means no such order."""
    return statements.events_by_public_id(order_id=order_id, after_seq=after_seq)


def order_stats(*, window_s: float = 60.0) -> dict[str, int]:
    """Counters for the live page: what runs now, what waits, what finished lately."""
    since = timezone.now() - timedelta(seconds=window_s)
    counts = Order.objects.aggregate(
        executing=Count("id", filter=Order.EXECUTING),
        retrying=Count("id", filter=Order.WAITING_TO_RETRY),
        queued=Count("id", filter=Q(status=Order.Status.PENDING)),
        waiting=Count("id", filter=Q(status=Order.Status.WAITING)),
        confirmed_recent=Count(
            "id", filter=Q(status=Order.Status.CONFIRMED, finished_at__gte=since)
        ),
        failed_recent=Count("id", filter=Q(status=Order.Status.FAILED, finished_at__gte=since)),
    )
    return {
        "executing": counts["executing"],
        "retrying": counts["retrying"],
        "queued": counts["queued"],
        "waiting": counts["waiting"],
        "confirmedLastMinute": counts["confirmed_recent"],
        "failedLastMinute": counts["failed_recent"],
    }
