"""Pool math as pure functions on Decimals.

Two pool designs:
- constant product (Raydium AMM v4): x * y = k, fee taken from the input;
- DLMM (Meteora): liquidity sits in discrete price bins; a swap drains the active bin and
  walks on to the next, and the fee is a base fee plus a variable fee that grows with
  recent volatility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import lru_cache

from dex.errors import InsufficientLiquidityError

ONE = Decimal(1)
ZERO = Decimal(0)
BPS = Decimal(10_000)


@dataclass(frozen=True)
class SwapResult:
    amount_in: Decimal
    fee: Decimal  # charged in the input token
    amount_out: Decimal  # unrounded; callers round down to the output token's decimals
    spot_price: Decimal  # output per input before the trade, fee excluded
    price_impact: Decimal  # fraction by which the average price is worse than spot, fee excluded


def constant_product_swap(
    *, reserve_in: Decimal, reserve_out: Decimal, amount_in: Decimal, fee_rate: Decimal
) -> SwapResult:
    """out = R_out * a / (R_in + a) where a is the input after the fee."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    with localcontext() as ctx:
        ctx.prec = 50
        fee = amount_in * fee_rate
        net_in = amount_in - fee
        amount_out = reserve_out * net_in / (reserve_in + net_in)
        spot = reserve_out / reserve_in
        impact = net_in / (reserve_in + net_in)
    return SwapResult(amount_in, fee, amount_out, spot, impact)


@dataclass(frozen=True)
class Bin:
    """One DLMM price bin. ``price`` is quote tokens per base token."""

    price: Decimal
    base: Decimal
    quote: Decimal


@dataclass(frozen=True)
class DlmmPool:
    """A DLMM pool whose bins are laid out around ``mid_price``.

    ``weights`` give each bin's share of the liquidity, from ``-len//2`` to ``+len//2``
    bins away from the active one. Bins below the active bin hold quote tokens, bins above
    hold base tokens, the active bin holds half of each. Bins are computed as a swap walks
    them, so a quote costs only the bins it touches.
    """

    mid_price: Decimal  # quote per base at the active bin
    bin_step_bps: int
    weights: Sequence[Decimal]  # sums to 1
    liquidity_quote: Decimal  # the pool's value in quote tokens
    base_fee_rate: Decimal
    variable_fee_rate: Decimal

    @property
    def fee_rate(self) -> Decimal:
        return self.base_fee_rate + self.variable_fee_rate

    @property
    def bins_each_side(self) -> int:
        return len(self.weights) // 2

    def bin(self, offset: int) -> Bin:
        step = ONE + Decimal(self.bin_step_bps) / BPS
        price = self.mid_price * step**offset
        value = self.liquidity_quote * self.weights[offset + self.bins_each_side]
        if offset < 0:
            return Bin(price, ZERO, value)
        if offset > 0:
            return Bin(price, value / price, ZERO)
        return Bin(price, value / 2 / price, value / 2)


@lru_cache(maxsize=64)
def bell_weights(*, bins_each_side: int, spread_bins: Decimal) -> tuple[Decimal, ...]:
    """A bell-shaped ("curve") liquidity distribution, normalised to sum to 1."""
    with localcontext() as ctx:
        ctx.prec = 40
        raw = [
            (-((Decimal(k) / spread_bins) ** 2) / 2).exp()
            for k in range(-bins_each_side, bins_each_side + 1)
        ]
        total = sum(raw, ZERO)
        return tuple(weight / total for weight in raw)


MAX_VARIABLE_FEE_RATE = Decimal("0.1")


def dlmm_variable_fee_rate(
    *, volatility_bins: Decimal, bin_step_bps: int, control: Decimal
) -> Decimal:
    """Meteora's variable fee: control * (volatility_accumulator * bin_step)^2, capped.

    The cap (``MAX_VARIABLE_FEE_RATE``) stands in for the pool's maximum volatility
    accumulator: after a jump (an operator's ``market move``) the fee is high, not >100 %.
    """
    step = Decimal(bin_step_bps) / BPS
    return min(MAX_VARIABLE_FEE_RATE, control * (volatility_bins * step) ** 2)


def dlmm_swap(*, pool: DlmmPool, amount_in: Decimal, sell_base: bool) -> SwapResult:
    """Walk bins from the active one outward until the input is spent.

    Selling base walks down (each bin pays out its quote tokens at its price); buying
    base walks up. Running out of bins means the pool cannot fill the order.
    """
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    with localcontext() as ctx:
        ctx.prec = 50
        fee = amount_in * pool.fee_rate
        remaining = amount_in - fee
        net_in = remaining
        amount_out = ZERO
        edge = pool.bins_each_side
        offsets = range(0, -edge - 1, -1) if sell_base else range(edge + 1)
        spot = pool.mid_price if sell_base else ONE / pool.mid_price
        for offset in offsets:
            bin_ = pool.bin(offset)
            if sell_base:
                take = min(remaining, bin_.quote / bin_.price)  # base the bin can absorb
                amount_out += take * bin_.price
            else:
                take = min(remaining, bin_.base * bin_.price)  # quote the bin can absorb
                amount_out += take / bin_.price
            remaining -= take
            if remaining <= 0:
                break
        if remaining > 0:
            raise InsufficientLiquidityError(
                f"pool liquidity exhausted with {remaining:.6g} of the input unfilled"
            )
        impact = ONE - (amount_out / net_in) / spot
    return SwapResult(amount_in, fee, amount_out, spot, max(impact, ZERO))
