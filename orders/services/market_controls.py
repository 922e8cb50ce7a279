"""Operators' controls of the simulated market: move a price, launch a pool.

Recorded in Redis (``dex.market_events``), so every process of the engine prices the
same market; each takes effect a fraction of a second after it is recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from dex.market_events import PoolLaunch, PriceMove, effective_time
from dex.tokens import TOKENS, UnknownTokenError, get_token
from dex.venues import DEX_NAMES, LAUNCH_TVL_USD, RAYDIUM
from orders.gateway import DexGateway, default_gateway

MAX_MOVE_PERCENT = Decimal(10_000)


class MarketControlError(ValueError):
    """The request names an unknown token or asks for what cannot be; ``field`` says where."""

    def __init__(self, message: str, *, field: str = "symbol") -> None:
        super().__init__(message)
        self.field = field


def _known(symbol: str, field: str = "symbol") -> str:
    try:
        return get_token(symbol).symbol
    except UnknownTokenError:
        raise MarketControlError(
            f"unknown token {symbol!r}; known: {', '.join(sorted(TOKENS))}", field=field
        ) from None


def _at(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")


def market_move(*, symbol: str, percent: str | Decimal, gateway: DexGateway | None = None) -> str:
    """From now on ``symbol`` is ``percent`` higher (lower if negative) on every DEX."""
    gateway = gateway or default_gateway()
    symbol = _known(symbol)
    try:
        change = Decimal(percent)
    except InvalidOperation:
        raise MarketControlError(
            f"percent must be a number, not {percent!r}", field="percent"
        ) from None
    if not change.is_finite() or change <= -100 or change > MAX_MOVE_PERCENT or change == 0:
        raise MarketControlError(
            f"percent must be above -100, at most {MAX_MOVE_PERCENT} and not 0 (got {percent})",
            field="percent",
        )
    move = PriceMove(symbol=symbol, percent=change, at=effective_time())
    gateway.market_events.record(move)
    market = next(iter(gateway.venues.values())).market
    after = market.usd_price(symbol, move.at)
    before = after / (1 + change / 100)
    return (
        f"{symbol} {change:+f}% on {', '.join(DEX_NAMES)} from {_at(move.at)}: "
        f"{before:.6g} -> {after:.6g} USD"
    )


def market_launch(
    *,
    symbol: str,
    dex: str = RAYDIUM,
    quote: str = "USDC",
    gateway: DexGateway | None = None,
) -> str:
    """Open a pool for a token that has none yet; ``trading`` turns true."""
    gateway = gateway or default_gateway()
    symbol = _known(symbol)
    quote = _known(quote, "quote")
    if dex not in DEX_NAMES:
        raise MarketControlError(f"unknown DEX {dex!r}; DEXes: {', '.join(DEX_NAMES)}", field="dex")
    if quote == symbol:
        raise MarketControlError("a pool needs two different tokens", field="quote")
    launched = {launch.symbol for launch in gateway.market_events.launched_ever()}
    if gateway.trades(symbol) or symbol in launched:
        raise MarketControlError(f"{symbol} already trades: launch is for a token with no pool")
    if not gateway.trades(quote):
        raise MarketControlError(
            f"{quote} has no pool itself: pick a traded quote token", field="quote"
        )
    launch = PoolLaunch(symbol=symbol, quote=quote, dex=dex, at=effective_time())
    gateway.market_events.record(launch)
    market = next(iter(gateway.venues.values())).market
    price = market.usd_price(symbol, launch.at)
    return (
        f"{symbol}/{quote} pool opened on {dex} from {_at(launch.at)}: {symbol} at "
        f"{price:.6g} USD, {LAUNCH_TVL_USD} USD of liquidity"
    )
