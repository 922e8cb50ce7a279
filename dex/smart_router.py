"""Routes that beat the best single pool: a split across both DEXes, a hop through SOL or
USDC, or both, computed on the pools' own math at one instant.

Splits: the output of a pool is concave in its input (fees, then impact), so the total
of two pools is concave in the share sent to each and a bounded search over whole
percents finds its best. Before searching, one probe decides: if moving the smallest leg
worth having (``MIN_LEG_PERCENT``) to the other pool does not pay, by concavity no
split with legs that size does, and the best single pool stands. A split or hop must
beat the best single pool by ``MIN_GAIN_BPS`` (an extra leg costs compute on chain).

Hops: SOL and USDC are the hubs (``HUBS``); each hop is itself the best single pool or
split on its pair, so a route may combine a hop and a split.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from decimal import Decimal

from dex.errors import DexError, InsufficientLiquidityError, NoRouteError
from dex.quotes import Quote, Quoter, significant
from dex.router import Leg, Route, ask_all, choose_route, quote_failure, split_input
from dex.venues import SimulatedDex

HUBS = ("SOL", "USDC")
MIN_LEG_PERCENT = 5
MIN_GAIN_BPS = Decimal("0.5")

PairPlan = tuple[list[tuple[int, Quote]], Decimal]  # [(percent, quote)], total output


def _quote(
    venue: SimulatedDex, token_in: str, token_out: str, amount: Decimal, t: float
) -> Quote | None:
    if amount <= 0:
        return None
    try:
        return venue.quote_at(token_in=token_in, token_out=token_out, amount=amount, t=t)
    except DexError:
        return None


def quotes_at(
    venues: Sequence[SimulatedDex], token_in: str, token_out: str, amount: Decimal, t: float
) -> dict[str, Quote | str]:
    """Each venue's single-pool quote at ``t`` (no latency), or why it has none: the
    ``quotes`` that ``plan_route`` takes, for callers that read pool state directly."""
    quotes: dict[str, Quote | str] = {}
    for venue in venues:
        try:
            quote = venue.quote_at(token_in=token_in, token_out=token_out, amount=amount, t=t)
        except DexError as exc:
            quotes[venue.name] = quote_failure(exc)
            continue
        quotes[venue.name] = quote if quote is not None else f"no {token_in}/{token_out} pool"
    return quotes


def _beats(candidate: Decimal, incumbent: Decimal) -> bool:
    return candidate * 10_000 > incumbent * (10_000 + MIN_GAIN_BPS)


def _best_split(
    first: SimulatedDex,
    second: SimulatedDex,
    token_in: str,
    token_out: str,
    amount: Decimal,
    t: float,
    alone: Decimal,
) -> PairPlan | None:
    """The best split of ``amount`` between two pools, ``first`` being the better alone."""
    seen: dict[int, PairPlan | None] = {}

    def total(percent: int) -> PairPlan | None:
        if percent not in seen:
            share, rest = split_input(amount, [percent, 100 - percent], token_in)
            a = _quote(first, token_in, token_out, share, t)
            b = _quote(second, token_in, token_out, rest, t)
            seen[percent] = (
                None
                if a is None or b is None
                else ([(percent, a), (100 - percent, b)], a.out_amount + b.out_amount)
            )
        return seen[percent]

    def value(percent: int) -> Decimal:
        plan = total(percent)
        return Decimal(-1) if plan is None else plan[1]

    if value(100 - MIN_LEG_PERCENT) <= alone:
        return None
    low, high = MIN_LEG_PERCENT, 100 - MIN_LEG_PERCENT
    while high - low > 2:
        left = low + (high - low) // 3
        right = high - (high - low) // 3
        if value(left) < value(right):
            low = left + 1
        else:
            high = right
    best = max(range(low, high + 1), key=value)
    plan = total(best)
    return plan if plan is not None and _beats(plan[1], alone) else None


def best_on_pair(
    venues: Sequence[SimulatedDex],
    token_in: str,
    token_out: str,
    amount: Decimal,
    t: float,
    singles: dict[str, Quote] | None = None,
) -> PairPlan | None:
    """The best single pool on the pair, or a split of it when that pays more."""
    if singles is None:
        singles = {}
        for venue in venues:
            quote = _quote(venue, token_in, token_out, amount, t)
            if quote is not None:
                singles[venue.name] = quote
    ranked = sorted(singles.values(), key=lambda q: (-q.out_amount, q.price_impact_pct, q.dex))
    if not ranked:
        return None
    best: PairPlan = ([(100, ranked[0])], ranked[0].out_amount)
    by_name = {venue.name: venue for venue in venues}
    if len(ranked) > 1 and ranked[0].dex in by_name and ranked[1].dex in by_name:
        split = _best_split(
            by_name[ranked[0].dex],
            by_name[ranked[1].dex],
            token_in,
            token_out,
            amount,
            t,
            ranked[0].out_amount,
        )
        if split is not None:
            best = split
    return best


def _legs(hop: int, plan: PairPlan) -> tuple[Leg, ...]:
    return tuple(Leg(hop, percent, quote) for percent, quote in plan[0])


def _describe(legs: tuple[Leg, ...]) -> str:
    parts = []
    for hop in sorted({leg.hop for leg in legs}):
        hop_legs = [leg for leg in legs if leg.hop == hop]
        first = hop_legs[0].quote
        shares = " + ".join(f"{leg.percent}% {leg.quote.dex}" for leg in hop_legs)
        parts.append(f"{first.token_in}->{first.token_out} {shares}")
    return ", then ".join(parts)


def plan_route(
    venues: Sequence[SimulatedDex],
    *,
    quotes: dict[str, Quote | str],
    token_in: str,
    token_out: str,
    amount: Decimal,
    t: float,
) -> Route:
    """The route paying the most for ``amount`` at ``t``; ``quotes``: each venue's own
    single-pool answer on the pair (kept in the route, so a client sees what was gained)."""
    singles = {name: q for name, q in quotes.items() if isinstance(q, Quote)}
    single_route = choose_route(quotes) if singles else None
    candidates: list[tuple[Decimal, tuple[Leg, ...]]] = []
    if singles:
        direct = best_on_pair(venues, token_in, token_out, amount, t, singles)
        if direct is not None:
            candidates.append((direct[1], _legs(0, direct)))
    for hub in HUBS:
        if hub in (token_in, token_out):
            continue
        first = best_on_pair(venues, token_in, hub, amount, t)
        if first is None:
            continue
        second = best_on_pair(venues, hub, token_out, first[1], t)
        if second is not None:
            candidates.append((second[1], _legs(0, first) + _legs(1, second)))
    if not candidates:
        if single_route is not None:
            return single_route
        reasons = [reason for reason in quotes.values() if isinstance(reason, str)]
        if any("liquidity" in reason for reason in reasons):
            raise InsufficientLiquidityError("; ".join(reasons))
        raise NoRouteError(f"no route from {token_in} to {token_out}, direct or via SOL/USDC")
    out, legs = max(candidates, key=lambda c: (c[0], -len(c[1])))
    if single_route is not None and single_route.chosen is not None:
        alone = single_route.chosen.out_amount
        if len(legs) == 1 or not _beats(out, alone):
            return single_route
        gain = out - alone
        reason = (
            f"{_describe(legs)} pays {out} {token_out} vs {single_route.chosen.dex} alone "
            f"{alone} (+{gain} {token_out}, +{significant(gain / alone * 100, 3)}%)"
        )
    else:
        reason = f"no direct pool: {_describe(legs)} pays {out} {token_out}"
    return Route(
        chosen=single_route.chosen if single_route else None,
        quotes=quotes,
        reason=reason,
        legs=legs,
    )


async def find_route(
    quoters: Sequence[Quoter], *, token_in: str, token_out: str, amount: Decimal
) -> Route:
    """Ask every venue for the pair at once (one quote latency: its pools' state), then
    plan on the pools that answered. Raises like ``find_best_route``."""
    answers = await ask_all(quoters, token_in=token_in, token_out=token_out, amount=amount)
    planners = [
        quoter
        for quoter in quoters
        if isinstance(quoter, SimulatedDex) and quoter.name not in answers.unreachable
    ]
    priced = answers.priced
    if not priced and planners:
        # No direct pool: the hubs' pools are read instead, at the same cost.
        await asyncio.sleep(max(venue.quote_latency_s for venue in planners))
    t = max((quote.quoted_at for quote in priced), default=time.time())
    quotes = answers.quotes
    try:
        return plan_route(
            planners, quotes=quotes, token_in=token_in, token_out=token_out, amount=amount, t=t
        )
    except (NoRouteError, InsufficientLiquidityError):
        if answers.transient and not priced:
            raise answers.unavailable() from None
        raise
