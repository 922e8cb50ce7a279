"""The JSON shapes clients see for orders and events (docs/API.md describes each field).

Money is always a decimal string, never a float.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from orders.models import Order, OrderEvent


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def event_message(event: OrderEvent, *, order_id: str) -> dict[str, Any]:
    """One event as sent over WebSocket and listed in an order's timeline."""
    return {
        "orderId": order_id,
        "seq": event.seq,
        "status": event.status,
        "at": iso_ms(event.at),
        "attempt": event.attempt,
        "dex": event.dex or None,
        "quotes": event.quotes,
        "amountOut": money(event.amount_out),
        "executedPrice": money(event.executed_price),
        "txHash": event.tx_hash,
        "error": event.error,
        "details": event.details,
    }


def dumps_event(message: dict[str, Any]) -> str:
    """An event's text on every socket: one encoding, the same from every door."""
    return json.dumps(message)


def order_summary(order: Order) -> dict[str, Any]:
    route = order.route or {}
    return {
        "orderId": str(order.public_id),
        "status": order.status,
        "tokenIn": order.token_in,
        "tokenOut": order.token_out,
        "amountIn": money(order.amount_in),
        # A limit has no slippage bound: its limit price sets the minimum output.
        "slippageBps": None if order.order_type == Order.OrderType.LIMIT else order.slippage_bps,
        "orderType": order.order_type,
        "limitPrice": money(order.limit_price),
        "stopPrice": money(order.stop_price),
        "expiresAt": iso_ms(order.expires_at),
        "dex": order.dex or None,
        "routeReason": route.get("reason"),
        "amountOut": money(order.amount_out),
        "minAmountOut": money(order.min_amount_out),
        "executedPrice": money(order.executed_price),
        "txHash": order.tx_hash,
        "error": order.error,
        "attempts": order.attempts,
        "nextAttemptAt": iso_ms(order.next_attempt_at),
        "createdAt": iso_ms(order.created_at),
        "updatedAt": iso_ms(order.updated_at),
        "finishedAt": iso_ms(order.finished_at),
        "lastSeq": order.last_seq,
        "statusUrl": f"/api/orders/status/{order.public_id}",
    }


def order_detail(order: Order, events: list[OrderEvent]) -> dict[str, Any]:
    order_id = str(order.public_id)
    return {
        **order_summary(order),
        "route": order.route,
        "dexTimeMs": round(order.dex_time_ms, 3),
        "events": [event_message(event, order_id=order_id) for event in events],
    }
