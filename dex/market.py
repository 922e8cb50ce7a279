"""A simulated market: seeded random-walk prices and the pools that trade on them.

Prices are a pure function of (seed, time) and of the operators' events (``market_events``:
price moves, pool launches), so every worker process sees the same market: a quote
taken in one process and a fill computed in another agree on what the price was at each
moment.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from dex.market_events import MarketEvents
from dex.tokens import TOKENS

# Noise scales in seconds; together they approximate a random walk (Brownian motion)
# from sub-second jitter up to half-hour trends.
_SCALES = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)
# Volatility per sqrt(second) of the log-price. Simulated markets are deliberately livelier
# than real ones so that fills sometimes miss a tight slippage limit.
_BASE_VOLATILITY = 1.0e-3
_TOKEN_VOLATILITY = {
    "SOL": 1.0,
    "BONK": 2.0,
    "JUP": 1.5,
    "RAY": 1.5,
    "USDC": 0.02,
    "USDT": 0.02,
    # Not trading until an operator launches a pool: young tokens swing hard.
    "NOVA": 3.0,
    "ZAP": 3.0,
    "MOON": 3.0,
}
# Each DEX's price wanders around the market price by about this much (arbitrage keeps
# it close), which is what makes routing worth doing.
_DEX_DEVIATION = 1.5e-3


@lru_cache(maxsize=16384)
def _gaussian(seed: int, key: str, scale_index: int, grid: int) -> float:
    """The walk's value at one grid point. Cached: the grid of a scale moves once per
    ``scale`` seconds, so nearly every price reuses the points of the one before
    (a pair price 35 → 11 µs)."""
    digest = hashlib.blake2b(f"{seed}:{key}:{scale_index}:{grid}".encode(), digest_size=16).digest()
    a, b = struct.unpack("<QQ", digest)
    u1 = (a + 1) / 2.0**64
    u2 = b / 2.0**64
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@lru_cache(maxsize=4096)
def _noise(seed: int, key: str, t: float, scales: tuple[float, ...], amplitude: float) -> float:
    """Multi-scale value noise: a smooth, seeded, random-walk-like path through time.

    Pure, so cached: the monitor prices many sizes of a pair at one instant, and each
    price needs the same few points of the walk (a dozen hashes each).
    """
    total = 0.0
    for index, scale in enumerate(scales):
        position = t / scale
        grid = math.floor(position)
        frac = position - grid
        left = _gaussian(seed, key, index, grid)
        right = _gaussian(seed, key, index, grid + 1)
        total += amplitude * math.sqrt(scale) * (left + (right - left) * frac)
    return total


def deterministic_uniform(seed: int, *parts: object) -> float:
    """A uniform draw in [0, 1) fixed by the seed and the parts (reproducible failures)."""
    text = ":".join(str(part) for part in (seed, *parts))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    # 53 bits: exactly representable, so the result is always strictly below 1.0.
    return (struct.unpack("<Q", digest)[0] >> 11) / 2.0**53


@dataclass(frozen=True)
class Market:
    seed: int
    # The operators' moves and launches; none: the seeded walk alone.
    events: MarketEvents = field(default_factory=MarketEvents, compare=False)

    def usd_price(self, symbol: str, t: float) -> Decimal:
        token = TOKENS[symbol]
        vol = _BASE_VOLATILITY * _TOKEN_VOLATILITY.get(symbol, 1.0)
        log_offset = _noise(self.seed, f"px:{symbol}", t, _SCALES, vol * 0.7)
        walk = token.usd_price * _to_decimal(math.exp(log_offset))
        return walk * self.events.price_factor(symbol, t)

    def pair_price(self, dex: str, base: str, quote: str, t: float) -> Decimal:
        """Quote tokens per base token in ``dex``'s pool at time ``t``."""
        mid = self.usd_price(base, t) / self.usd_price(quote, t)
        deviation = _noise(
            self.seed, f"dev:{dex}:{base}/{quote}", t, (3.0, 20.0), _DEX_DEVIATION / 3
        )
        return mid * _to_decimal(math.exp(deviation))

    def volatility_bins(
        self, dex: str, base: str, quote: str, t: float, bin_step_bps: int
    ) -> Decimal:
        """How many bins the pool's price moved over the last 5 s (Meteora's accumulator)."""
        now = self.pair_price(dex, base, quote, t)
        before = self.pair_price(dex, base, quote, t - 5.0)
        moved = abs(math.log(float(now / before))) / math.log1p(bin_step_bps / 10_000)
        return _to_decimal(moved)


def _to_decimal(value: float) -> Decimal:
    return Decimal(repr(value))
