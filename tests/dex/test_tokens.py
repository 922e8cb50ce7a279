"""The token registry: symbols, decimals, mints and the native-SOL special case."""

from decimal import Decimal

import pytest

from dex.tokens import (
    TOKENS,
    WSOL_MINT,
    UnknownTokenError,
    get_token,
    supported_symbols,
)

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    """Plain base58 decode (Bitcoin alphabet, as Solana uses) so the test needs no library."""
    number = 0
    for char in text:
        number = number * 58 + BASE58_ALPHABET.index(char)
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * leading_zeros + body


# The last three have no pool until an operator launches one (sniper orders wait for it).
EXPECTED_DECIMALS = {
    "SOL": 9,
    "USDC": 6,
    "USDT": 6,
    "BONK": 5,
    "JUP": 6,
    "RAY": 6,
    "NOVA": 6,
    "ZAP": 6,
    "MOON": 6,
}


def test_registry_holds_exactly_the_known_tokens_with_their_decimals():
    assert {symbol: token.decimals for symbol, token in TOKENS.items()} == EXPECTED_DECIMALS
    assert supported_symbols() == sorted(EXPECTED_DECIMALS)


@pytest.mark.parametrize("symbol", sorted(EXPECTED_DECIMALS))
def test_mints_are_base58_encoded_32_byte_public_keys(symbol):
    token = get_token(symbol)
    assert token.symbol == symbol
    assert 32 <= len(token.mint) <= 44
    assert set(token.mint) <= set(BASE58_ALPHABET)  # no 0, O, I or l
    assert len(b58decode(token.mint)) == 32


def test_mints_are_distinct():
    mints = [token.mint for token in TOKENS.values()]
    assert len(set(mints)) == len(mints)


@pytest.mark.parametrize("symbol", sorted(EXPECTED_DECIMALS))
def test_unit_is_one_smallest_on_chain_amount(symbol):
    token = get_token(symbol)
    assert token.unit == Decimal(1).scaleb(-EXPECTED_DECIMALS[symbol])
    assert token.max_amount > 0
    assert token.usd_price > 0


def test_sol_is_native_and_routes_as_wrapped_sol():
    sol = get_token("SOL")
    assert sol.native is True
    assert sol.route_symbol == "wSOL"
    assert sol.mint == WSOL_MINT == "So11111111111111111111111111111111111111112"


@pytest.mark.parametrize("symbol", ["USDC", "USDT", "BONK", "JUP", "RAY"])
def test_spl_tokens_route_as_themselves(symbol):
    token = get_token(symbol)
    assert token.native is False
    assert token.route_symbol == symbol


def test_lookup_is_case_insensitive():
    assert get_token("usdc") is TOKENS["USDC"]
    assert get_token("Sol") is TOKENS["SOL"]


@pytest.mark.parametrize("symbol", ["DOGE", "", "wSOL-X", "SOLANA"])
def test_unknown_symbol_raises_unknown_token_error(symbol):
    with pytest.raises(UnknownTokenError):
        get_token(symbol)


def test_unknown_token_error_is_a_key_error():
    # Callers that only catch KeyError (dict-style lookups) still catch it.
    with pytest.raises(KeyError):
        get_token("NOPE")
