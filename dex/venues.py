"""The two simulated DEXes and their pools.

Raydium runs constant-product pools with a 0.25 % fee and deep reserves; Meteora runs
DLMM pools with cheaper fees and liquidity concentrated near the price. Small orders get
a better price on Meteora; large ones exhaust its bins and do better on Raydium.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from dex.errors import InsufficientLiquidityError
from dex.market import Market
from dex.pools import (
    BPS,
    DlmmPool,
    SwapResult,
    bell_weights,
    constant_product_swap,
    dlmm_swap,
    dlmm_variable_fee_rate,
)
from dex.quotes import Quote, round_out, significant

RAYDIUM = "raydium"
METEORA = "meteora"
DEX_NAMES = (RAYDIUM, METEORA)


@dataclass(frozen=True)
class PoolSpec:
    base: str
    quote: str
    tvl_usd: Decimal

    @property
    def name(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True)
class DlmmSpec(PoolSpec):
    bin_step_bps: int = 10
    base_fee_bps: int = 10
    bins_each_side: int = 100
    spread_bins: Decimal = Decimal(30)


RAYDIUM_FEE_BPS = 25
RAYDIUM_POOLS = (
    PoolSpec("SOL", "USDC", Decimal(20_000_000)),
    PoolSpec("SOL", "USDT", Decimal(6_000_000)),
    PoolSpec("USDC", "USDT", Decimal(8_000_000)),
    PoolSpec("BONK", "SOL", Decimal(4_000_000)),
    PoolSpec("BONK", "USDC", Decimal(2_000_000)),
    PoolSpec("JUP", "SOL", Decimal(3_000_000)),
    PoolSpec("JUP", "USDC", Decimal(3_000_000)),
    PoolSpec("RAY", "SOL", Decimal(5_000_000)),
    PoolSpec("RAY", "USDC", Decimal(4_000_000)),
)
# Meteora's variable-fee control: 5 bins of movement at a 10 bps step adds ~0.1 %.
METEORA_FEE_CONTROL = Decimal(40)
METEORA_POOLS = (
    DlmmSpec("SOL", "USDC", Decimal(1_500_000), bin_step_bps=10, base_fee_bps=10),
    DlmmSpec("SOL", "USDT", Decimal(1_000_000), bin_step_bps=10, base_fee_bps=10),
    DlmmSpec(
        "USDC",
        "USDT",
        Decimal(3_000_000),
        bin_step_bps=1,
        base_fee_bps=1,
        spread_bins=Decimal(6),
    ),
    DlmmSpec("BONK", "SOL", Decimal(1_000_000), bin_step_bps=40, base_fee_bps=25),
    DlmmSpec("JUP", "USDC", Decimal(1_000_000), bin_step_bps=20, base_fee_bps=20),
    DlmmSpec("JUP", "SOL", Decimal(800_000), bin_step_bps=20, base_fee_bps=20),
)


# A pool an operator launches (`manage.py market launch`): young and shallow.
LAUNCH_TVL_USD = Decimal(400_000)

P = TypeVar("P", bound=PoolSpec)


def _find_pool(pools: tuple[P, ...], token_in: str, token_out: str) -> tuple[P, bool] | None:
    """The pool for the pair and whether the swap sells its base token."""
    for pool in pools:
        if (pool.base, pool.quote) == (token_in, token_out):
            return pool, True
        if (pool.base, pool.quote) == (token_out, token_in):
            return pool, False
    return None


class SimulatedDex:
    """Base for a simulated venue: waits out the quote latency, then prices the swap."""

    name: str

    def __init__(self, *, market: Market, quote_latency_s: float) -> None:
        self.market = market
        self.quote_latency_s = quote_latency_s

    def has_pool(self, token_in: str, token_out: str, t: float | None = None) -> bool:
        return self._pool_for(token_in, token_out, time.time() if t is None else t) is not None

    async def quote(self, *, token_in: str, token_out: str, amount: Decimal) -> Quote | None:
        if not self.has_pool(token_in, token_out):
            return None
        if self.quote_latency_s > 0:
            await asyncio.sleep(self.quote_latency_s)
        return self.quote_at(token_in=token_in, token_out=token_out, amount=amount, t=time.time())

    def quote_at(self, *, token_in: str, token_out: str, amount: Decimal, t: float) -> Quote | None:
        """Price the swap against the pool as it stands at time ``t`` (no latency)."""
        found = self._pool_for(token_in, token_out, t)
        if found is None:
            return None
        spec, sell_base = found
        result = self._swap(spec, sell_base, amount, t)
        out = round_out(result.amount_out, token_out)
        if out <= 0:
            raise InsufficientLiquidityError(
                f"{amount} {token_in} buys less than one unit of {token_out}"
            )
        return Quote(
            dex=self.name,
            pool=f"{self.name}:{spec.name}",
            token_in=token_in,
            token_out=token_out,
            in_amount=amount,
            out_amount=out,
            fee_amount=significant(result.fee),
            fee_bps=significant(result.fee / amount * BPS, 6),
            price=significant(out / amount),
            mid_price=significant(result.spot_price),
            price_impact_pct=significant(result.price_impact * 100, 6),
            quoted_at=t,
        )

    def _pool_for(self, token_in: str, token_out: str, t: float) -> tuple[PoolSpec, bool] | None:
        found = _find_pool(self.pools, token_in, token_out)
        if found is None:
            found = _find_pool(self.launched_pools(t), token_in, token_out)
        return found

    pools: tuple[PoolSpec, ...] = ()

    def launched_pools(self, t: float) -> tuple[PoolSpec, ...]:
        """Pools an operator opened on this DEX by ``t``."""
        return tuple(
            self._launch_spec(launch.symbol, launch.quote)
            for launch in self.market.events.launched(t)
            if launch.dex == self.name
        )

    def _launch_spec(self, base: str, quote: str) -> PoolSpec:
        raise NotImplementedError

    def _swap(self, spec: PoolSpec, sell_base: bool, amount: Decimal, t: float) -> SwapResult:
        raise NotImplementedError


class RaydiumDex(SimulatedDex):
    name = RAYDIUM
    pools = RAYDIUM_POOLS

    def _launch_spec(self, base: str, quote: str) -> PoolSpec:
        return PoolSpec(base, quote, LAUNCH_TVL_USD)

    def _swap(self, spec: PoolSpec, sell_base: bool, amount: Decimal, t: float) -> SwapResult:
        price = self.market.pair_price(self.name, spec.base, spec.quote, t)
        base_reserve = spec.tvl_usd / 2 / self.market.usd_price(spec.base, t)
        quote_reserve = base_reserve * price
        reserve_in, reserve_out = (
            (base_reserve, quote_reserve) if sell_base else (quote_reserve, base_reserve)
        )
        return constant_product_swap(
            reserve_in=reserve_in,
            reserve_out=reserve_out,
            amount_in=amount,
            fee_rate=Decimal(RAYDIUM_FEE_BPS) / BPS,
        )


class MeteoraDex(SimulatedDex):
    name = METEORA
    pools = METEORA_POOLS

    def _launch_spec(self, base: str, quote: str) -> PoolSpec:
        return DlmmSpec(
            base, quote, LAUNCH_TVL_USD, bin_step_bps=50, base_fee_bps=30, spread_bins=Decimal(20)
        )

    def _swap(self, spec: PoolSpec, sell_base: bool, amount: Decimal, t: float) -> SwapResult:
        assert isinstance(spec, DlmmSpec)
        price = self.market.pair_price(self.name, spec.base, spec.quote, t)
        volatility = self.market.volatility_bins(
            self.name, spec.base, spec.quote, t, spec.bin_step_bps
        )
        pool = DlmmPool(
            mid_price=price,
            bin_step_bps=spec.bin_step_bps,
            weights=bell_weights(bins_each_side=spec.bins_each_side, spread_bins=spec.spread_bins),
            liquidity_quote=spec.tvl_usd / self.market.usd_price(spec.quote, t),
            base_fee_rate=Decimal(spec.base_fee_bps) / BPS,
            variable_fee_rate=dlmm_variable_fee_rate(
                volatility_bins=volatility,
                bin_step_bps=spec.bin_step_bps,
                control=METEORA_FEE_CONTROL,
            ),
        )
        return dlmm_swap(pool=pool, amount_in=amount, sell_base=sell_base)


def build_venues(*, market: Market, quote_latency_s: float) -> dict[str, SimulatedDex]:
    return {
        RAYDIUM: RaydiumDex(market=market, quote_latency_s=quote_latency_s),
        METEORA: MeteoraDex(market=market, quote_latency_s=quote_latency_s),
    }


def pair_has_pool(
    token_in: str, token_out: str, *, venues: dict[str, SimulatedDex] | None = None
) -> bool:
    """A pool for the pair on some DEX now; without ``venues``, among the listed pools only."""
    if venues is not None:
        now = time.time()
        return any(venue.has_pool(token_in, token_out, now) for venue in venues.values())
    return any(
        _find_pool(pools, token_in, token_out) is not None
        for pools in (RAYDIUM_POOLS, METEORA_POOLS)
    )


def token_trades(symbol: str, *, venues: dict[str, SimulatedDex] | None = None) -> bool:
    """Whether any DEX has a pool with ``symbol`` on one side (now, with ``venues``)."""
    listed = any(symbol in (spec.base, spec.quote) for spec in (*RAYDIUM_POOLS, *METEORA_POOLS))
    if listed or venues is None:
        return listed
    now = time.time()
    return any(
        symbol in (spec.base, spec.quote)
        for venue in venues.values()
        for spec in venue.launched_pools(now)
    )
