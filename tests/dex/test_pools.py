"""Pool math against hand-computed numbers."""

from decimal import Decimal, localcontext

import pytest

from dex.errors import InsufficientLiquidityError
from dex.pools import (
    DlmmPool,
    bell_weights,
    constant_product_swap,
    dlmm_swap,
    dlmm_variable_fee_rate,
)

D = Decimal


def approx(value: str | Decimal):
    return pytest.approx(D(value), rel=D("1e-30"), abs=D("1e-40"))


# --- constant product -----------------------------------------------------------------


def test_constant_product_matches_hand_computation():
    # x = 1000, y = 150000, fee = 25 bps, dx = 10
    #   fee    = 10 * 0.0025                    = 0.025
    #   dx_eff = 10 - 0.025                     = 9.975
    #   dy     = y * dx_eff / (x + dx_eff)
    #          = 150000 * 9.975 / 1009.975
    #          = 1496250 / 1009.975             = 1481.47231367113047352657...
    #   spot   = y / x                          = 150
    #   impact = dx_eff / (x + dx_eff)          = 9.975 / 1009.975 = 0.00987648209114086982...
    #   (check: avg price dy/dx_eff = 148.518518...; 1 - 148.5185/150 = 0.0098765)
    result = constant_product_swap(
        reserve_in=D(1000), reserve_out=D(150000), amount_in=D(10), fee_rate=D("0.0025")
    )
    assert result.amount_in == D(10)
    assert result.fee == D("0.025")
    assert result.amount_out == approx("1481.4723136711304735265724399118790069061115")
    assert result.spot_price == D(150)
    assert result.price_impact == approx("0.0098764820911408698235104829327458600460")
    # impact in percent as a quote shows it: 0.98765 %
    assert round(result.price_impact * 100, 5) == D("0.98765")
    # The invariant grows by exactly the fee: (x + dx_eff) * (y - dy) == x * y
    with localcontext() as ctx:
        ctx.prec = 50
        k_after = (D(1000) + D("9.975")) * (D(150000) - result.amount_out)
    assert k_after == approx(D(150_000_000))


def test_constant_product_without_fee_is_plain_xy_k():
    # x = 100, y = 100, dx = 100 -> dy = 100 * 100 / 200 = 50, impact = 100 / 200 = 0.5
    result = constant_product_swap(
        reserve_in=D(100), reserve_out=D(100), amount_in=D(100), fee_rate=D(0)
    )
    assert result.fee == 0
    assert result.amount_out == D(50)
    assert result.price_impact == D("0.5")


def test_constant_product_impact_grows_with_size():
    impacts = [
        constant_product_swap(
            reserve_in=D(1000),
            reserve_out=D(150000),
            amount_in=D(size),
            fee_rate=D("0.0025"),
        ).price_impact
        for size in (1, 10, 100, 1000)
    ]
    assert impacts == sorted(impacts)
    assert len(set(impacts)) == len(impacts)


@pytest.mark.parametrize("amount", [D(0), D(-1), D("-0.000001")])
def test_constant_product_rejects_non_positive_input(amount):
    with pytest.raises(ValueError, match="positive"):
        constant_product_swap(
            reserve_in=D(1000),
            reserve_out=D(150000),
            amount_in=amount,
            fee_rate=D("0.0025"),
        )


# --- DLMM -----------------------------------------------------------------------------
#
# A three-bin pool, mid price 100 quote/base, bin step 100 bps (1 %), weights 1/4, 1/2, 1/4
# of 3990 quote of liquidity:
#   bin -1: price 100 / 1.01 = 99.0099..., holds 997.5 quote          (absorbs 10.07475 base)
#   bin  0: price 100,        holds 1995 / 2 = 997.5 quote + 9.975 base
#   bin +1: price 100 * 1.01 = 101,        holds 997.5 / 101 base     (absorbs 997.5 quote)
# Fee: base 20 bps + variable 0.2 * (5 bins * 0.01)^2 = 0.0005 -> 25 bps in total.

BASE_FEE = D("0.002")
VARIABLE_FEE = dlmm_variable_fee_rate(volatility_bins=D(5), bin_step_bps=100, control=D("0.2"))


def small_pool(**overrides) -> DlmmPool:
    params = {
        "mid_price": D(100),
        "bin_step_bps": 100,
        "weights": (D("0.25"), D("0.5"), D("0.25")),
        "liquidity_quote": D(3990),
        "base_fee_rate": BASE_FEE,
        "variable_fee_rate": VARIABLE_FEE,
    }
    params.update(overrides)
    return DlmmPool(**params)


def test_variable_fee_formula_and_total_fee():
    # 0.2 * (5 * 100 / 10000)^2 = 0.2 * 0.05^2 = 0.0005
    assert D("0.0005") == VARIABLE_FEE
    assert small_pool().fee_rate == D("0.0025")


def test_bins_are_laid_out_geometrically_around_mid():
    pool = small_pool()
    assert pool.bins_each_side == 1
    below, active, above = pool.bin(-1), pool.bin(0), pool.bin(1)
    assert active.price == D(100)
    assert (active.base, active.quote) == (D("9.975"), D("997.5"))
    assert above.price == D(101)
    assert above.quote == 0
    assert above.base == approx(D("997.5") / D(101))
    assert below.price == approx(D(100) / D("1.01"))
    assert (below.base, below.quote) == (D(0), D("997.5"))


def test_dlmm_small_sell_stays_in_active_bin_with_no_impact():
    # 1 base: fee 0.0025, net 0.9975, all at 100 -> 99.75 quote
    result = dlmm_swap(pool=small_pool(), amount_in=D(1), sell_base=True)
    assert result.fee == D("0.0025")
    assert result.amount_out == D("99.75")
    assert result.spot_price == D(100)
    assert result.price_impact == 0


def test_dlmm_sell_consumes_exactly_the_active_bin():
    # 10 base: fee 10 * 0.0025 = 0.025, net 9.975 = exactly what bin 0 absorbs
    # out = 9.975 * 100 = 997.5 quote, still at the active price -> no impact
    result = dlmm_swap(pool=small_pool(), amount_in=D(10), sell_base=True)
    assert result.fee == D("0.025")
    assert result.amount_out == D("997.5")
    assert result.price_impact == 0


def test_dlmm_sell_crosses_into_the_next_bin_at_its_price():
    # 20 base: fee 0.05, net 19.95
    #   bin 0  takes 9.975 base at 100        -> 997.5
    #   bin -1 takes 9.975 base at 100 / 1.01 -> 997.5 / 1.01 = 987.62376237623762376...
    #   out = 1985.12376237623762376...
    #   impact = 1 - out / (19.95 * 100) = 1 - (1 + 1/1.01) / 2 = (0.01 / 1.01) / 2
    #          = 0.0049504950495049504950...
    result = dlmm_swap(pool=small_pool(), amount_in=D(20), sell_base=True)
    assert result.fee == D("0.05")
    assert result.amount_out == approx("1985.1237623762376237623762376237623762376")
    assert result.price_impact == approx("0.0049504950495049504950495049504950495")


def test_dlmm_buy_walks_up_into_dearer_bins():
    # 1500 quote buys base: fee 3.75, net 1496.25
    #   bin 0  takes 997.5 quote at 100 -> 9.975 base
    #   bin +1 takes 498.75 quote at 101 -> 4.93811881188118811881... base
    #   out = 14.91311881188118811881...
    #   spot = 1 / 100 = 0.01 base per quote
    #   impact = (498.75/100 - 498.75/101) / 14.9625 = (1/3) * (1/101) = 1/303 = 0.0033003300...
    result = dlmm_swap(pool=small_pool(), amount_in=D(1500), sell_base=False)
    assert result.fee == D("3.75")
    assert result.spot_price == D("0.01")
    assert result.amount_out == approx("14.913118811881188118811881188118811881188")
    assert result.price_impact == approx("0.0033003300330033003300330033003300330033")


@pytest.mark.parametrize(
    ("amount", "sell_base"),
    [
        (D(21), True),  # net 20.9475 base > 9.975 + 10.07475 the two lower bins absorb
        (D(2500), False),  # net 2493.75 quote > 997.5 + 997.5 the two upper bins absorb
    ],
)
def test_dlmm_exhausting_all_bins_raises(amount, sell_base):
    with pytest.raises(InsufficientLiquidityError, match="exhausted"):
        dlmm_swap(pool=small_pool(), amount_in=amount, sell_base=sell_base)


def test_dlmm_higher_variable_fee_costs_more_output():
    calm = dlmm_swap(pool=small_pool(variable_fee_rate=D(0)), amount_in=D(5), sell_base=True)
    busy = dlmm_swap(pool=small_pool(), amount_in=D(5), sell_base=True)
    # calm: fee 5 * 0.002 = 0.01 -> out 4.99 * 100 = 499; busy: fee 0.0125 -> out 498.75
    assert (calm.fee, calm.amount_out) == (D("0.010"), D("499.000"))
    assert (busy.fee, busy.amount_out) == (D("0.0125"), D("498.7500"))


def test_variable_fee_grows_quadratically_with_volatility():
    rates = [
        dlmm_variable_fee_rate(volatility_bins=D(v), bin_step_bps=10, control=D(40))
        for v in (0, 1, 2, 5, 10)
    ]
    assert rates[0] == 0
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    # 40 * (5 * 0.001)^2 = 0.001 (0.1 %), and twice the volatility is four times the fee
    assert rates[3] == D("0.001")
    assert rates[4] == 4 * rates[3]


@pytest.mark.parametrize("amount", [D(0), D(-5)])
def test_dlmm_rejects_non_positive_input(amount):
    with pytest.raises(ValueError, match="positive"):
        dlmm_swap(pool=small_pool(), amount_in=amount, sell_base=True)


def test_bell_weights_are_symmetric_normalised_and_peak_in_the_middle():
    weights = bell_weights(bins_each_side=10, spread_bins=D(3))
    assert len(weights) == 21
    assert sum(weights) == pytest.approx(D(1), abs=D("1e-30"))
    assert weights == tuple(reversed(weights))
    assert max(weights) == weights[10]
    assert list(weights[:11]) == sorted(weights[:11])
