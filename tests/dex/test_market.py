"""The simulated market: a pure, seeded function of time."""

import math
from decimal import Decimal
from types import SimpleNamespace

import pytest

from dex.market import Market, deterministic_uniform
from dex.tokens import TOKENS

T0 = 1_700_000_000.0  # a fixed wall-clock moment, so nothing depends on when tests run
SYMBOLS = sorted(TOKENS)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_same_seed_gives_the_same_prices(symbol):
    first, second = Market(7), Market(7)
    for t in (T0, T0 + 0.5, T0 + 3600):
        assert first.usd_price(symbol, t) == second.usd_price(symbol, t)
    assert first.pair_price("raydium", "SOL", "USDC", T0) == second.pair_price(
        "raydium", "SOL", "USDC", T0
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_different_seeds_give_different_prices(symbol):
    assert Market(1).usd_price(symbol, T0) != Market(2).usd_price(symbol, T0)


def test_prices_drift_over_time():
    market = Market(7)
    for symbol in SYMBOLS:
        assert market.usd_price(symbol, T0) != market.usd_price(symbol, T0 + 3)


def test_price_path_is_continuous_at_small_steps():
    # Value noise interpolates between grid points: 10 ms apart the price barely moves.
    market = Market(7)
    before, after = market.usd_price("SOL", T0), market.usd_price("SOL", T0 + 0.01)
    assert abs(after / before - 1) < Decimal("0.001")


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31])
def test_prices_stay_within_sane_bounds_over_a_day(seed):
    market = Market(seed)
    for symbol, token in TOKENS.items():
        ratios = [
            market.usd_price(symbol, T0 + step * 97.0) / token.usd_price for step in range(900)
        ]
        assert all(Decimal("0.7") < ratio < Decimal("1.4") for ratio in ratios), symbol
    # Stablecoins hardly move at all.
    for t in (T0, T0 + 10_000, T0 + 50_000):
        assert abs(market.usd_price("USDC", t) - 1) < Decimal("0.01")


def test_dex_prices_differ_but_stay_near_the_market_mid():
    market = Market(7)
    for t in (T0, T0 + 60, T0 + 600):
        mid = market.usd_price("SOL", t) / market.usd_price("USDC", t)
        raydium = market.pair_price("raydium", "SOL", "USDC", t)
        meteora = market.pair_price("meteora", "SOL", "USDC", t)
        assert raydium != meteora
        for price in (raydium, meteora):
            assert abs(price / mid - 1) < Decimal("0.02")


def test_volatility_bins_is_the_bin_distance_moved_over_five_seconds():
    market = Market(7)
    now = market.pair_price("meteora", "SOL", "USDC", T0)
    before = market.pair_price("meteora", "SOL", "USDC", T0 - 5)
    expected = abs(math.log(now / before)) / math.log(1.001)
    got = market.volatility_bins("meteora", "SOL", "USDC", T0, 10)
    assert got >= 0
    assert float(got) == pytest.approx(expected, rel=1e-9)


def test_deterministic_uniform_is_reproducible_and_in_unit_interval():
    draws = [deterministic_uniform(3, "submit", index) for index in range(2000)]
    assert draws == [deterministic_uniform(3, "submit", index) for index in range(2000)]
    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert 0.45 < sum(draws) / len(draws) < 0.55  # roughly uniform
    assert min(draws) < 0.01 and max(draws) > 0.99


def test_deterministic_uniform_depends_on_seed_and_parts():
    assert deterministic_uniform(3, "a") != deterministic_uniform(4, "a")
    assert deterministic_uniform(3, "a") != deterministic_uniform(3, "b")
    assert deterministic_uniform(3, "a", 1) != deterministic_uniform(3, "a", 2)


def test_deterministic_uniform_never_returns_one_even_for_the_largest_digest(
    monkeypatch,
):
    import dex.market

    class AllOnesDigest:
        def __init__(self, *args, **kwargs):
            pass

        def digest(self):
            return b"\xff" * 8

    monkeypatch.setattr(dex.market, "hashlib", SimpleNamespace(blake2b=AllOnesDigest))
    assert deterministic_uniform(0, "x") < 1.0
