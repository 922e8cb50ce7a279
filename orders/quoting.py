"""What an order would get now, without placing one (``GET /api/quote``), and the tokens.

The quote is the router's own decision, on the same venues and latencies an order's
``routing`` step uses, so a client sees the price it would be routed at.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from dex.errors import QuoteTimeoutError
from dex.quotes import significant
from dex.router import Leg, Route
from dex.smart_router import find_route
from dex.tokens import TOKENS, get_token
from orders import aio
from orders.gateway import DexGateway, default_gateway
from orders.payloads import money


def route_leg(leg: Leg) -> dict[str, Any]:
    """One leg of a ``routePlan`` (Jupiter's shape): ``percent`` of a hop's input via one
    pool. Legs of one hop are a split; a second hop's legs take the first hop's output."""
    quote = leg.quote
    return {
        "dex": quote.dex,
        "pool": quote.pool,
        "percent": leg.percent,
        "inputToken": quote.token_in,
        "outputToken": quote.token_out,
        "inAmount": money(quote.in_amount),
        "outAmount": str(quote.out_amount),
        "feeAmount": str(quote.fee_amount),
        "feeToken": quote.token_in,
    }


def route_plan(route: Route) -> list[dict[str, Any]]:
    return [route_leg(leg) for leg in route.plan]


def route_path(route: Route) -> str:
    """The tokens the swap moves through, as the pools see them (SOL as wSOL)."""
    return " -> ".join(get_token(symbol).route_symbol for symbol in route.path)


def route_now(*, dex: DexGateway, token_in: str, token_out: str, amount: Decimal) -> Route:
    """Ask every venue at once and plan the best route (a single pool, a split, a hop),
    within the quote timeout; raises ``DexError``."""
    try:
        return aio.run(
            find_route(
                list(dex.venues.values()), token_in=token_in, token_out=token_out, amount=amount
            ),
            timeout=settings.DEX_QUOTE_TIMEOUT_S,
        )
    except TimeoutError:
        raise QuoteTimeoutError(f"no quote within {settings.DEX_QUOTE_TIMEOUT_S:g} s") from None


def wrap_note(token_in: str, token_out: str) -> str | None:
    """SOL is native; pools trade wrapped SOL (wSOL), and the route says so."""
    if get_token(token_in).native:
        return "SOL is native; wrapped to wSOL for the swap"
    if get_token(token_out).native:
        return "received as wSOL, unwrapped to SOL"
    return None


def quote_best(
    *,
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage_bps: int,
    dex: DexGateway | None = None,
) -> dict[str, Any]:
    """Quote both DEXes and answer as the router would choose; raises ``DexError``."""
    amount = amount.quantize(get_token(token_in).unit)
    route = route_now(
        dex=dex or default_gateway(), token_in=token_in, token_out=token_out, amount=amount
    )
    return {
        "tokenIn": token_in,
        "tokenOut": token_out,
        "inAmount": money(amount),
        "outAmount": str(route.out_amount),
        "price": str(significant(route.out_amount / amount)),
        "minOutAmount": str(route.min_out(slippage_bps)),
        "slippageBps": slippage_bps,
        "quotes": route.quotes_dict(slippage_bps=slippage_bps),
        "routePlan": route_plan(route),
        "path": route_path(route),
        "reason": route.reason,
        "wrappedSol": wrap_note(token_in, token_out),
    }


def token_list(*, dex: DexGateway | None = None) -> list[dict[str, Any]]:
    """Every token the engine knows; ``trading`` once any DEX has a pool for it."""
    gateway = dex or default_gateway()
    return [
        {
            "symbol": token.symbol,
            "decimals": token.decimals,
            "mint": token.mint,
            "native": token.native,
            "maxAmount": format(token.max_amount, "f"),
            "trading": gateway.trades(token.symbol),
        }
        for token in sorted(TOKENS.values(), key=lambda t: t.symbol)
    ]
