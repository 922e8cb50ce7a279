"""Quote.min_out: the slippage floor, rounded down to the output token's decimals."""

from decimal import Decimal

import pytest

from dex.quotes import Quote, round_out, significant


def make_quote(token_out: str, out_amount: str) -> Quote:
    return Quote(
        dex="meteora",
        pool="meteora:SOL/USDC",
        token_in="SOL",
        token_out=token_out,
        in_amount=Decimal(1),
        out_amount=Decimal(out_amount),
        fee_amount=Decimal("0.001"),
        fee_bps=Decimal(10),
        price=Decimal(out_amount),
        mid_price=Decimal(out_amount),
        price_impact_pct=Decimal(0),
        quoted_at=0.0,
    )


@pytest.mark.parametrize(
    ("token_out", "out_amount", "slippage_bps", "expected"),
    [
        # 100.123456 * 9950 / 10000 = 99.62283872 -> 6 decimals, down: 99.622838
        ("USDC", "100.123456", 50, "99.622838"),
        # 1.234567891 * 0.99 = 1.22222221209 -> 9 decimals, down: 1.222222212
        ("SOL", "1.234567891", 100, "1.222222212"),
        # 12345.67891 * 0.999 = 12333.33323109 -> 5 decimals, down: 12333.33323
        ("BONK", "12345.67891", 10, "12333.33323"),
        # 0.000001 * 0.995 = 0.000000995 -> rounds down to 0 (never up to 0.000001)
        ("USDT", "0.000001", 50, "0.000000"),
        # no tolerance: the quote itself
        ("JUP", "7.654321", 0, "7.654321"),
    ],
)
def test_min_out_applies_slippage_and_rounds_down(token_out, out_amount, slippage_bps, expected):
    result = make_quote(token_out, out_amount).min_out(slippage_bps)
    assert result == Decimal(expected)
    # Same digits as the token: exponent equals -decimals.
    assert str(result) == expected


def test_min_out_never_exceeds_the_quote():
    quote = make_quote("USDC", "148.999999")
    for bps in (1, 3, 7, 50, 333, 9999):
        assert quote.min_out(bps) <= quote.out_amount * (10_000 - bps) / 10_000


def test_as_dict_includes_min_out_only_when_asked():
    quote = make_quote("USDC", "100.123456")
    assert "minOutAmount" not in quote.as_dict()
    data = quote.as_dict(slippage_bps=50)
    assert data["minOutAmount"] == "99.622838"
    assert data["outAmount"] == "100.123456"
    assert data["dex"] == "meteora"


def test_round_out_truncates_to_token_decimals():
    assert round_out(Decimal("1.9999999999"), "SOL") == Decimal("1.999999999")
    assert round_out(Decimal("1.9999999"), "USDC") == Decimal("1.999999")


def test_significant_trims_without_rounding_up():
    assert significant(Decimal("0.123456789"), 3) == Decimal("0.123")
    assert significant(Decimal("987654.321"), 3) == Decimal("9.87E+5")
    assert significant(Decimal(0)) == 0
