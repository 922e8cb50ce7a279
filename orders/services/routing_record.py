"""What a ``routing`` transition writes: the route decision on the row and in its event.

Shared by the worker's routing step and the price monitor's trigger, so an order routed
either way carries the same record (both quotes, the winner, why, the minimum output).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from dex.router import Route
from dex.tokens import get_token
from orders.models import Order
from orders.quoting import route_path, route_plan, wrap_note


def limit_min_out(*, amount: Decimal, limit_price: Decimal, token_out: str) -> Decimal:
    """A limit's minimum output: ``amount * limitPrice``, rounded up to a unit of tokenOut."""
    return (amount * limit_price).quantize(get_token(token_out).unit, rounding=ROUND_CEILING)


def order_min_out(order: Order, route: Route) -> Decimal:
    """The least the swap may return: the limit for a limit order, else the slippage bound."""
    if order.order_type == Order.OrderType.LIMIT and order.limit_price is not None:
        return limit_min_out(
            amount=order.amount_in, limit_price=order.limit_price, token_out=order.token_out
        )
    return route.min_out(order.slippage_bps)


def routing_move(
    order: Order,
    route: Route,
    *,
    quote_ms: float,
    started: float | None = None,
    extra_details: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``changes`` and ``event`` of the transition that starts the next attempt."""
    attempt = order.attempts + 1
    min_out = order_min_out(order, route)
    slippage = None if order.order_type == Order.OrderType.LIMIT else order.slippage_bps
    quotes = route.quotes_dict(slippage_bps=slippage)
    path = route_path(route)
    wrapped = wrap_note(order.token_in, order.token_out)
    plan = route_plan(route)
    route_record: dict[str, Any] = {
        "dex": route.dex,
        "pool": route.pool,
        "reason": route.reason,
        "path": path,
        "wrappedSol": wrapped,
        "quotes": quotes,
        "minAmountOut": str(min_out),
        "outAmount": str(route.out_amount),
        "routePlan": plan,
    }
    if len(route.plan) > 1:
        # What the transaction executes, leg by leg (dex/network.py).
        route_record["legs"] = [
            {
                "hop": leg.hop,
                "percent": leg.percent,
                "dex": leg.quote.dex,
                "pool": leg.quote.pool,
                "tokenIn": leg.quote.token_in,
                "tokenOut": leg.quote.token_out,
            }
            for leg in route.plan
        ]
    details: dict[str, Any] = {
        "reason": route.reason,
        "pool": route.pool,
        "routePlan": plan,
        "path": path,
        "wrappedSol": wrapped,
        "minAmountOut": str(min_out),
        "quoteMs": round(quote_ms, 3),
        **(extra_details or {}),
    }
    if started is not None:
        details["quoteStartedAt"] = started
    changes = {
        "attempts": attempt,
        "next_attempt_at": None,
        "dex": route.dex,
        "route": route_record,
        "min_amount_out": min_out,
        "signed_tx": None,
        "dex_time_ms": order.dex_time_ms + quote_ms,
    }
    event = {
        "dex": route.dex,
        "quotes": quotes,
        "error": order.error if order.attempts > 0 else None,
        "details": details,
    }
    return changes, event
