"""What a DEX answers when asked for a price, and what the router decides."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from dex.tokens import get_token

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Quote:
    dex: str
    pool: str
    token_in: str
    token_out: str
    in_amount: Decimal
    out_amount: Decimal  # rounded down to the output token's decimals, net of fee and impact
    fee_amount: Decimal  # in the input token
    fee_bps: Decimal
    price: Decimal  # output per input actually received
    mid_price: Decimal  # output per input before the trade
    price_impact_pct: Decimal
    quoted_at: float

    def min_out(self, slippage_bps: int) -> Decimal:
        """The least output the order accepts: the quote less the slippage tolerance."""
        unit = get_token(self.token_out).unit
        return (self.out_amount * (BPS - slippage_bps) / BPS).quantize(unit, rounding=ROUND_DOWN)

    def as_dict(self, *, slippage_bps: int | None = None) -> dict[str, object]:
        data: dict[str, object] = {
            "dex": self.dex,
            "pool": self.pool,
            "inAmount": str(self.in_amount),
            "outAmount": str(self.out_amount),
            "fee": str(self.fee_amount),
            "feeBps": str(self.fee_bps),
            "price": str(self.price),
            "midPrice": str(self.mid_price),
            "priceImpactPct": str(self.price_impact_pct),
        }
        if slippage_bps is not None:
            data["minOutAmount"] = str(self.min_out(slippage_bps))
        return data


class Quoter(Protocol):
    """A venue that can price a swap. Returns None when it has no pool for the pair."""

    name: str

    async def quote(self, *, token_in: str, token_out: str, amount: Decimal) -> Quote | None: ...


def round_out(amount: Decimal, token_out: str) -> Decimal:
    return amount.quantize(get_token(token_out).unit, rounding=ROUND_DOWN)


def significant(value: Decimal, digits: int = 12) -> Decimal:
    """Trim a derived figure (price, percentage) to a readable number of digits."""
    if value == 0:
        return Decimal(0)
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_DOWN).normalize()
