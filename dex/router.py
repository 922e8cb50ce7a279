"""Pick the venue that gives the most output for an order, and say why."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from dex.errors import DexError, InsufficientLiquidityError, NetworkError, NoRouteError
from dex.quotes import BPS, Quote, Quoter, significant
from dex.tokens import get_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leg:
    """``percent`` of one hop's input through one pool (Jupiter's routePlan leg)."""

    hop: int  # 0, or 1 for the second pool of a route through SOL or USDC
    percent: int
    quote: Quote


def split_input(amount: Decimal, percents: list[int], token: str) -> list[Decimal]:
    """Each leg's share of ``amount`` in whole units of ``token``; the last leg takes what
    rounding left, so the shares always add up to the amount exactly."""
    unit = get_token(token).unit
    shares = [(amount * percent / 100).quantize(unit, rounding=ROUND_DOWN) for percent in percents]
    shares[-1] = amount - sum(shares[:-1], Decimal(0))
    return shares


@dataclass(frozen=True)
class Route:
    # The best single pool on the pair itself: None when no DEX has one.
    chosen: Quote | None
    # Every venue asked for the pair itself: its quote, or the reason it could not quote.
    quotes: dict[str, Quote | str]
    reason: str
    # The plan when it is more than the chosen pool alone: a split, a hop, or both.
    legs: tuple[Leg, ...] = ()

    @property
    def plan(self) -> tuple[Leg, ...]:
        if self.legs:
            return self.legs
        if self.chosen is None:
            raise ValueError("a route without legs needs a chosen pool")
        return (Leg(0, 100, self.chosen),)

    @property
    def token_in(self) -> str:
        return self.plan[0].quote.token_in

    @property
    def token_out(self) -> str:
        return self.plan[-1].quote.token_out

    @property
    def in_amount(self) -> Decimal:
        return sum((leg.quote.in_amount for leg in self.plan if leg.hop == 0), Decimal(0))

    @property
    def out_amount(self) -> Decimal:
        last = self.plan[-1].hop
        return sum((leg.quote.out_amount for leg in self.plan if leg.hop == last), Decimal(0))

    @property
    def price(self) -> Decimal:
        """Output per unit of input for the whole amount: the executable price."""
        return self.out_amount / self.in_amount

    @property
    def path(self) -> list[str]:
        """The tokens the swap passes through: [tokenIn, tokenOut] or [tokenIn, hub, tokenOut]."""
        tokens = [self.token_in]
        for hop in sorted({leg.hop for leg in self.plan}):
            tokens.append(next(leg.quote.token_out for leg in self.plan if leg.hop == hop))
        return tokens

    @property
    def dex(self) -> str:
        """One DEX's name, or the DEXes of a split or hop joined by "+"."""
        names: list[str] = []
        for leg in self.plan:
            if leg.quote.dex not in names:
                names.append(leg.quote.dex)
        return "+".join(names)

    @property
    def pool(self) -> str:
        return "+".join(leg.quote.pool for leg in self.plan)

    def min_out(self, slippage_bps: int) -> Decimal:
        """The least total output the order accepts: the slippage bound on the whole."""
        unit = get_token(self.token_out).unit
        return (self.out_amount * (BPS - slippage_bps) / BPS).quantize(unit, rounding=ROUND_DOWN)

    def quotes_dict(self, *, slippage_bps: int | None = None) -> dict[str, object]:
        return {
            name: quote.as_dict(slippage_bps=slippage_bps)
            if isinstance(quote, Quote)
            else {"error": quote}
            for name, quote in self.quotes.items()
        }


def choose_route(quotes: dict[str, Quote | str]) -> Route:
    """The highest output net of fees and impact wins; ties go to the lower price impact."""
    usable = [quote for quote in quotes.values() if isinstance(quote, Quote)]
    if not usable:
        reasons = [reason for reason in quotes.values() if isinstance(reason, str)]
        if any("liquidity" in reason for reason in reasons):
            raise InsufficientLiquidityError("; ".join(reasons))
        raise NoRouteError("no DEX has a pool for this pair")
    ranked = sorted(usable, key=lambda q: (-q.out_amount, q.price_impact_pct, q.dex))
    best = ranked[0]
    if len(ranked) == 1:
        others = ", ".join(f"{name}: {why}" for name, why in quotes.items() if isinstance(why, str))
        reason = f"only {best.dex} can fill ({others})" if others else f"only {best.dex} quoted"
    else:
        runner_up = ranked[1]
        gain = best.out_amount - runner_up.out_amount
        gain_pct = (
            significant(gain / runner_up.out_amount * 100, 3)
            if runner_up.out_amount
            else Decimal(0)
        )
        reason = (
            f"{best.dex} pays {best.out_amount} {best.token_out} vs {runner_up.dex} "
            f"{runner_up.out_amount} (+{gain} {best.token_out}, +{gain_pct}%); "
            f"fee {best.fee_bps} vs {runner_up.fee_bps} bps, "
            f"impact {best.price_impact_pct}% vs {runner_up.price_impact_pct}%"
        )
    return Route(chosen=best, quotes=quotes, reason=reason)


def quote_failure(exc: DexError) -> str:
    """How a venue's failure to quote is reported in a route's ``quotes``."""
    if isinstance(exc, InsufficientLiquidityError):
        return f"insufficient liquidity: {exc}"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class QuoteRound:
    """Every venue's answer for one pair, asked at once."""

    quotes: dict[str, Quote | str]
    transient: list[DexError]
    # Venues whose answer was a transient failure (their RPC is down for now).
    unreachable: frozenset[str]

    @property
    def priced(self) -> list[Quote]:
        return [quote for quote in self.quotes.values() if isinstance(quote, Quote)]

    def unavailable(self) -> NetworkError:
        """Nobody could quote, and at least one venue may answer next time: retryable."""
        return NetworkError(
            "no DEX could quote right now: " + "; ".join(str(exc) for exc in self.transient)
        )


async def ask_all(
    quoters: Sequence[Quoter], *, token_in: str, token_out: str, amount: Decimal
) -> QuoteRound:
    """Ask every venue at once (latencies overlap)."""
    transient: list[DexError] = []
    unreachable: set[str] = set()

    async def ask(quoter: Quoter) -> Quote | str:
        try:
            quote = await quoter.quote(token_in=token_in, token_out=token_out, amount=amount)
        except DexError as exc:
            if exc.transient:
                transient.append(exc)
                unreachable.add(quoter.name)
            return quote_failure(exc)
        return quote if quote is not None else f"no {token_in}/{token_out} pool"

    answers = await asyncio.gather(*(ask(quoter) for quoter in quoters))
    quotes = {quoter.name: answer for quoter, answer in zip(quoters, answers, strict=True)}
    return QuoteRound(quotes, transient, frozenset(unreachable))


async def find_best_route(
    quoters: Sequence[Quoter], *, token_in: str, token_out: str, amount: Decimal
) -> Route:
    """Ask every venue at once, then choose the best single pool."""
    answers = await ask_all(quoters, token_in=token_in, token_out=token_out, amount=amount)
    if answers.transient and not answers.priced:
        raise answers.unavailable()
    route = choose_route(answers.quotes)
    logger.debug(
        "route %s %s->%s: chose %s; %s",
        amount,
        token_in,
        token_out,
        route.dex,
        route.reason,
    )
    return route
