"""The tokens the engine trades, with their on-chain facts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Token:
    symbol: str
    mint: str
    decimals: int
    # Largest amount one order may sell: a guard against fat fingers, roughly $10M.
    max_amount: Decimal
    # Reference price in USD at which the simulated market starts.
    usd_price: Decimal
    native: bool = False

    @property
    def route_symbol(self) -> str:
        """The SPL token that actually moves through pools (native SOL travels as wSOL)."""
        return "wSOL" if self.native else self.symbol

    @property
    def unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


WSOL_MINT = "So11111111111111111111111111111111111111112"

TOKENS: dict[str, Token] = {
    token.symbol: token
    for token in (
        Token("SOL", WSOL_MINT, 9, Decimal(50000), Decimal(148), native=True),
        Token(
            "USDC",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            6,
            Decimal(10000000),
            Decimal(1),
        ),
        Token(
            "USDT",
            "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
            6,
            Decimal(10000000),
            Decimal(1),
        ),
        Token(
            "BONK",
            "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263",
            5,
            Decimal(400000000000),
            Decimal("0.000025"),
        ),
        Token(
            "JUP",
            "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
            6,
            Decimal(10000000),
            Decimal("0.9"),
        ),
        Token(
            "RAY",
            "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R",
            6,
            Decimal(5000000),
            Decimal("2.1"),
        ),
        # Known to the registry but with no pool on any DEX until an operator launches
        # one (`manage.py market launch`): what sniper orders wait for.
        Token(
            "NOVA",
            "6bFNRwhJ9chGewVWewncMfTW9Wkc3KM3t8KrQyXRFRAA",
            6,
            Decimal(1_000_000_000),
            Decimal("0.05"),
        ),
        Token(
            "ZAP",
            "6ahoD2SxQeoM6wf7J8U5c1gFgxKxACM8hhigR4KVfRqP",
            6,
            Decimal(1_000_000_000),
            Decimal("0.2"),
        ),
        Token(
            "MOON",
            "F1apsrQtyG5GPCvARj15xzP7L7FM29DuW6KpymCEw63t",
            6,
            Decimal(1_000_000_000),
            Decimal("0.01"),
        ),
    )
}


class UnknownTokenError(KeyError):
    pass


def get_token(symbol: str) -> Token:
    try:
        return TOKENS[symbol.upper()]
    except KeyError:
        raise UnknownTokenError(symbol) from None


SUPPORTED_SYMBOLS: tuple[str, ...] = tuple(sorted(TOKENS))


def supported_symbols() -> list[str]:
    return list(SUPPORTED_SYMBOLS)
