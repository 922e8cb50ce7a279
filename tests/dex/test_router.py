"""Routing: choose_route on hand-made quotes, and find_best_route against the real venues."""

import asyncio
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

import dex.venues
from dex.errors import (
    DexError,
    InsufficientLiquidityError,
    NetworkError,
    NoRouteError,
    TransientDexError,
)
from dex.market import Market
from dex.quotes import Quote
from dex.router import choose_route, find_best_route
from dex.venues import METEORA, RAYDIUM, build_venues, pair_has_pool

D = Decimal
T0 = 1_700_000_000.0
SEED = 42


def make_quote(dex: str, out_amount: str, impact_pct: str = "0.1", fee_bps: str = "25") -> Quote:
    return Quote(
        dex=dex,
        pool=f"{dex}:SOL/USDC",
        token_in="SOL",
        token_out="USDC",
        in_amount=D("1.5"),
        out_amount=D(out_amount),
        fee_amount=D("0.00375"),
        fee_bps=D(fee_bps),
        price=D(out_amount) / D("1.5"),
        mid_price=D(148),
        price_impact_pct=D(impact_pct),
        quoted_at=T0,
    )


# --- choose_route on hand-made quotes -------------------------------------------------


def test_highest_output_wins_whatever_the_order():
    raydium = make_quote(RAYDIUM, "221.500000", impact_pct="0.01")
    meteora = make_quote(METEORA, "221.700000", impact_pct="0.05", fee_bps="10")
    for quotes in (
        {RAYDIUM: raydium, METEORA: meteora},
        {METEORA: meteora, RAYDIUM: raydium},
    ):
        route = choose_route(quotes)
        assert route.chosen is meteora
        assert route.quotes == quotes


def test_tie_on_output_goes_to_lower_price_impact():
    # Alphabetical order would pick meteora; the lower impact must win instead.
    meteora = make_quote(METEORA, "221.600000", impact_pct="0.30")
    raydium = make_quote(RAYDIUM, "221.600000", impact_pct="0.02")
    assert choose_route({METEORA: meteora, RAYDIUM: raydium}).chosen is raydium
    assert choose_route({RAYDIUM: raydium, METEORA: meteora}).chosen is raydium


def test_reason_names_both_dexes_their_amounts_and_the_gain():
    raydium = make_quote(RAYDIUM, "221.500000", impact_pct="0.0123", fee_bps="25")
    meteora = make_quote(METEORA, "221.700000", impact_pct="0.0456", fee_bps="14.1")
    reason = choose_route({RAYDIUM: raydium, METEORA: meteora}).reason
    assert reason.startswith("meteora pays 221.700000 USDC vs raydium 221.500000")
    assert "+0.200000 USDC" in reason  # 221.7 - 221.5
    assert "+0.0902%" in reason  # 0.2 / 221.5 * 100 = 0.090293... -> 3 significant digits
    assert "fee 14.1 vs 25 bps" in reason
    assert "impact 0.0456% vs 0.0123%" in reason


def test_single_quote_reason_says_why_the_other_could_not_fill():
    meteora_error = "insufficient liquidity: pool liquidity exhausted"
    route = choose_route({RAYDIUM: make_quote(RAYDIUM, "100"), METEORA: meteora_error})
    assert route.chosen.dex == RAYDIUM
    assert route.reason == f"only raydium can fill (meteora: {meteora_error})"
    assert choose_route({RAYDIUM: make_quote(RAYDIUM, "100")}).reason == "only raydium quoted"


def test_quotes_dict_reports_errors_and_min_out():
    route = choose_route({RAYDIUM: make_quote(RAYDIUM, "100.000000"), METEORA: "no SOL/X pool"})
    data = route.quotes_dict(slippage_bps=100)
    assert data[METEORA] == {"error": "no SOL/X pool"}
    assert data[RAYDIUM]["minOutAmount"] == "99.000000"


@pytest.mark.parametrize(
    "quotes",
    [
        {},
        {RAYDIUM: "no SOL/XYZ pool"},
        {RAYDIUM: "no A/B pool", METEORA: "no A/B pool"},
    ],
)
def test_no_usable_quote_is_no_route(quotes):
    with pytest.raises(NoRouteError):
        choose_route(quotes)


def test_liquidity_error_string_becomes_insufficient_liquidity():
    quotes = {RAYDIUM: "no SOL/USDC pool", METEORA: "insufficient liquidity: exhausted"}
    with pytest.raises(InsufficientLiquidityError, match="insufficient liquidity: exhausted"):
        choose_route(quotes)


# --- the real venues ------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch):
    """Pin the venues' wall clock so the seeded market (and thus each choice) is fixed.

    Without this, which DEX wins a small order depends on when the test runs: the two
    pools' prices wander ~0.2 % apart, more than Meteora's 15 bps fee advantage.
    """
    monkeypatch.setattr(dex.venues, "time", SimpleNamespace(time=lambda: T0))
    return T0


def venues(latency: float = 0.0) -> list:
    return list(build_venues(market=Market(SEED), quote_latency_s=latency).values())


def route_for(amount, token_in: str = "SOL", token_out: str = "USDC"):
    return asyncio.run(
        find_best_route(venues(), token_in=token_in, token_out=token_out, amount=D(amount))
    )


def test_small_sol_order_goes_to_meteora(frozen_clock):
    route = route_for("1.5")
    assert route.chosen.dex == METEORA
    assert set(route.quotes) == {RAYDIUM, METEORA}
    raydium = route.quotes[RAYDIUM]
    assert isinstance(raydium, Quote)
    assert route.chosen.out_amount > raydium.out_amount
    assert route.chosen.fee_bps < raydium.fee_bps == 25
    assert route.chosen.quoted_at == T0
    # ~148 USDC per SOL
    assert D(200) < route.chosen.out_amount < D(240)
    assert "meteora pays" in route.reason and "vs raydium" in route.reason


def test_huge_sol_order_goes_to_raydium(frozen_clock):
    route = route_for("20000")
    assert route.chosen.dex == RAYDIUM
    assert "insufficient liquidity" in route.quotes[METEORA]
    assert route.reason.startswith("only raydium can fill (meteora: insufficient liquidity")


def test_choice_flips_from_meteora_to_raydium_once_between_5000_and_10000_sol(
    frozen_clock,
):
    async def scan():
        quoters = venues()
        sizes = range(5000, 10001, 100)
        routes = [
            await find_best_route(quoters, token_in="SOL", token_out="USDC", amount=D(size))
            for size in sizes
        ]
        return [(size, route.chosen.dex) for size, route in zip(sizes, routes, strict=True)]

    choices = asyncio.run(scan())
    winners = [dex_name for _, dex_name in choices]
    assert winners[0] == METEORA and winners[-1] == RAYDIUM
    flip = winners.index(RAYDIUM)
    # Exactly one flip: meteora below it, raydium from it on.
    assert winners == [METEORA] * flip + [RAYDIUM] * (len(winners) - flip)
    assert 5000 < choices[flip][0] <= 10000


def test_larger_orders_see_more_price_impact(frozen_clock):
    sizes = ["1.5", "100", "1000", "3000", "5000"]
    for venue in venues():
        impacts = [
            venue.quote_at(token_in="SOL", token_out="USDC", amount=D(size), t=T0).price_impact_pct
            for size in sizes
        ]
        assert impacts == sorted(impacts), venue.name
        assert impacts[-1] > impacts[1] > 0, venue.name
    chosen = [route_for(size).chosen.price_impact_pct for size in ("1.5", "1000", "5000", "20000")]
    assert chosen == sorted(chosen)
    assert len(set(chosen)) == len(chosen)


def test_small_orders_mostly_go_to_meteora_across_time():
    # Over many moments Meteora wins most small orders, but not all of them: the venues'
    # price deviation (~0.2 %) can outweigh its cheaper fee. (Seed 42: ~2/3 of moments.)
    quoters = venues()
    wins = 0
    for step in range(100):
        t = T0 + step * 37.3
        quotes = {
            q.name: q.quote_at(token_in="SOL", token_out="USDC", amount=D("1.5"), t=t)
            for q in quoters
        }
        wins += choose_route(quotes).chosen.dex == METEORA
    assert wins > 50


def test_pair_only_raydium_pools_routes_to_raydium(frozen_clock):
    assert pair_has_pool("RAY", "SOL")
    route = route_for("10", "RAY", "SOL")
    assert route.chosen.dex == RAYDIUM
    assert route.quotes[METEORA] == "no RAY/SOL pool"
    assert route.reason == "only raydium can fill (meteora: no RAY/SOL pool)"


def test_reverse_direction_buys_sol_with_usdc(frozen_clock):
    route = route_for("148", "USDC", "SOL")
    assert D("0.9") < route.chosen.out_amount < D("1.1")
    assert route.chosen.out_amount == route.chosen.out_amount.quantize(D("1e-9"))


def test_pair_without_any_pool_is_no_route():
    assert not pair_has_pool("BONK", "USDT")
    with pytest.raises(NoRouteError):
        route_for("1000", "BONK", "USDT")


def test_dust_order_that_buys_nothing_is_insufficient_liquidity(frozen_clock):
    # 1 lamport of SOL is worth ~0.00000015 USDC: below one USDC unit on both venues.
    with pytest.raises(InsufficientLiquidityError):
        route_for("0.000000001")


def test_quotes_run_in_parallel():
    # Two venues each sleeping 0.2 s: sequential would take >= 0.4 s.
    quoters = venues(latency=0.2)
    start = time.perf_counter()
    route = asyncio.run(find_best_route(quoters, token_in="SOL", token_out="USDC", amount=D("1.5")))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.35
    assert all(isinstance(quote, Quote) for quote in route.quotes.values())


class FailingQuoter:
    def __init__(self, name: str, error: DexError) -> None:
        self.name = name
        self.error = error

    async def quote(self, *, token_in, token_out, amount):
        raise self.error


def test_a_failing_venue_does_not_hide_the_other(frozen_clock):
    quoters = [
        FailingQuoter(RAYDIUM, NetworkError("RPC node unavailable (503)")),
        venues()[1],
    ]
    route = asyncio.run(find_best_route(quoters, token_in="SOL", token_out="USDC", amount=D("1.5")))
    assert route.chosen.dex == METEORA
    assert route.quotes[RAYDIUM] == "NetworkError: RPC node unavailable (503)"


def test_venue_raising_insufficient_liquidity_is_reported_as_such():
    quoters = [FailingQuoter(METEORA, InsufficientLiquidityError("bins exhausted"))]
    with pytest.raises(InsufficientLiquidityError, match="insufficient liquidity: bins exhausted"):
        asyncio.run(find_best_route(quoters, token_in="SOL", token_out="USDC", amount=D(1)))


def test_all_venues_failing_transiently_stays_transient():
    quoters = [
        FailingQuoter(RAYDIUM, NetworkError("RPC node unavailable (503)")),
        FailingQuoter(METEORA, NetworkError("RPC node unavailable (503)")),
    ]
    with pytest.raises(TransientDexError):
        asyncio.run(find_best_route(quoters, token_in="SOL", token_out="USDC", amount=D(1)))
