"""POST /api/orders/execute: every invalid body is a 400 naming the field; nothing stored.

Bodies are sent as raw text so that what reaches the parser is exactly what a client
typed (NaN, duplicate keys, numbers a float cannot hold...).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db

URL = "/api/orders/execute"
JSON = "application/json"
BASE: dict[str, Any] = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}


def body(**changes: Any) -> str:
    """The valid base body with ``changes`` applied (a value of ``...`` drops the key)."""
    values = {**BASE, **changes}
    return json.dumps({key: value for key, value in values.items() if value is not ...})


def raw_body(amount: str, token_in: str = "SOL", token_out: str = "USDC") -> str:
    """A body whose amount is the literal JSON text ``amount`` (not re-encoded)."""
    return f'{{"tokenIn": "{token_in}", "tokenOut": "{token_out}", "amount": {amount}}}'


@pytest.fixture
def client() -> APIClient:
    # A server error must show up as a failed status assertion, not as an exception.
    api = APIClient()
    api.raise_request_exception = False
    return api


def counts() -> tuple[int, int]:
    return Order.objects.count(), OrderEvent.objects.count()


def post(client: APIClient, data: str | bytes, content_type: str = JSON, **extra: Any):
    return client.post(URL, data=data, content_type=content_type, **extra)


def assert_rejected(response: Any, *fields: str, statuses: tuple[int, ...] = (400,)) -> dict:
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    payload = response.json()
    errors = payload["errors"]
    assert isinstance(errors, dict) and errors, payload
    for messages in errors.values():
        assert isinstance(messages, list) and messages, payload
        assert all(isinstance(message, str) and message for message in messages), payload
    if fields:
        assert any(field in errors for field in fields), (fields, payload)
    return errors


def assert_nothing_stored(before: tuple[int, int]) -> None:
    assert counts() == before


# --- bodies that name one field --------------------------------------------------------

FIELD_CASES = [
    # missing fields
    pytest.param(body(tokenIn=...), "tokenIn", id="missing-tokenIn"),
    pytest.param(body(tokenOut=...), "tokenOut", id="missing-tokenOut"),
    pytest.param(body(amount=...), "amount", id="missing-amount"),
    pytest.param("{}", "amount", id="empty-object"),
    # tokens
    pytest.param(body(tokenIn="DOGE"), "tokenIn", id="unknown-tokenIn"),
    pytest.param(body(tokenOut="DOGE"), "tokenOut", id="unknown-tokenOut"),
    pytest.param(body(tokenIn=""), "tokenIn", id="empty-tokenIn"),
    pytest.param(body(tokenIn="SOL", tokenOut="SOL"), "tokenOut", id="identical-tokens"),
    pytest.param(body(tokenIn="sol", tokenOut="SOL"), "tokenOut", id="identical-tokens-case"),
    pytest.param(body(tokenIn=None), "tokenIn", id="null-tokenIn"),
    pytest.param(body(tokenIn=True), "tokenIn", id="bool-tokenIn"),
    pytest.param(body(tokenIn=1), "tokenIn", id="number-tokenIn"),
    pytest.param(body(tokenIn=["SOL"]), "tokenIn", id="list-tokenIn"),
    pytest.param(body(tokenIn={"symbol": "SOL"}), "tokenIn", id="object-tokenIn"),
    pytest.param(body(tokenOut=["USDC"]), "tokenOut", id="list-tokenOut"),
    # amount: not positive
    pytest.param(raw_body("0"), "amount", id="amount-0"),
    pytest.param(raw_body("-1"), "amount", id="amount--1"),
    pytest.param(raw_body("0.0"), "amount", id="amount-0.0"),
    pytest.param(raw_body("-0"), "amount", id="amount--0"),
    pytest.param(raw_body("-0.5"), "amount", id="amount--0.5"),
    pytest.param(body(amount="0"), "amount", id="amount-str-0"),
    pytest.param(body(amount="-1"), "amount", id="amount-str--1"),
    pytest.param(body(amount="0.000"), "amount", id="amount-str-0.000"),
    # amount: not finite / absurdly large
    pytest.param(raw_body("1e400"), "amount", id="amount-1e400"),
    pytest.param(raw_body("1e999999999999"), "amount", id="amount-1e999999999999"),
    pytest.param(raw_body("1" + "0" * 60), "amount", id="amount-61-digit-integer"),
    # amount: more decimals than the token has
    pytest.param(raw_body("1.1234567", "USDC", "SOL"), "amount", id="USDC-7-decimals"),
    pytest.param(
        body(tokenIn="USDC", tokenOut="SOL", amount="1.1234567"), "amount", id="USDC-7-decimals-str"
    ),
    pytest.param(raw_body("0.123456", "BONK", "SOL"), "amount", id="BONK-6-decimals"),
    pytest.param(body(amount="0.0000000001"), "amount", id="SOL-10-decimals-str"),
    pytest.param(raw_body("0.0000000001"), "amount", id="SOL-10-decimals"),
    pytest.param(raw_body("1e-10"), "amount", id="SOL-1e-10"),
    # JSON numbers must not go through float: 1.0000000000000001 == 1.0 as a float.
    pytest.param(raw_body("1.0000000000000001"), "amount", id="SOL-float-rounding-trap"),
    # amount: above the per-token maximum (dex/tokens.py max_amount)
    pytest.param(raw_body("50001"), "amount", id="SOL-above-max"),
    pytest.param(body(amount="50000.000000001"), "amount", id="SOL-just-above-max"),
    pytest.param(raw_body("10000001", "USDC", "SOL"), "amount", id="USDC-above-max"),
    pytest.param(raw_body("10000000.000001", "USDT", "SOL"), "amount", id="USDT-above-max"),
    pytest.param(raw_body("400000000001", "BONK", "SOL"), "amount", id="BONK-above-max"),
    pytest.param(raw_body("10000001", "JUP", "SOL"), "amount", id="JUP-above-max"),
    pytest.param(raw_body("5000001", "RAY", "SOL"), "amount", id="RAY-above-max"),
    # amount: strings that are not plain decimals
    pytest.param(body(amount="abc"), "amount", id="amount-abc"),
    pytest.param(body(amount="1_000"), "amount", id="amount-underscore"),
    pytest.param(body(amount="1e3"), "amount", id="amount-str-exponent"),
    pytest.param(body(amount="\u0661\u0662\u0663"), "amount", id="amount-arabic-indic-digits"),
    pytest.param(body(amount="\uff11\uff12"), "amount", id="amount-fullwidth-digits"),
    pytest.param(body(amount=" 1"), "amount", id="amount-leading-space"),
    pytest.param(body(amount="1 "), "amount", id="amount-trailing-space"),
    pytest.param(body(amount="1.5\n"), "amount", id="amount-trailing-newline"),
    pytest.param(body(amount=""), "amount", id="amount-empty-string"),
    pytest.param(body(amount="0x10"), "amount", id="amount-hex"),
    pytest.param(body(amount="+1"), "amount", id="amount-plus-sign"),
    pytest.param(body(amount="1,5"), "amount", id="amount-comma"),
    pytest.param(body(amount="NaN"), "amount", id="amount-str-NaN"),
    pytest.param(body(amount="Infinity"), "amount", id="amount-str-Infinity"),
    # amount: wrong JSON types
    pytest.param(body(amount=True), "amount", id="amount-true"),
    pytest.param(body(amount=False), "amount", id="amount-false"),
    pytest.param(body(amount=None), "amount", id="amount-null"),
    pytest.param(body(amount={"value": "1"}), "amount", id="amount-object"),
    pytest.param(body(amount=[1]), "amount", id="amount-list"),
    pytest.param(body(amount=[]), "amount", id="amount-empty-list"),
    # slippageBps
    pytest.param(body(slippageBps=0), "slippageBps", id="slippage-0"),
    pytest.param(body(slippageBps=5001), "slippageBps", id="slippage-5001"),
    pytest.param(body(slippageBps=-1), "slippageBps", id="slippage--1"),
    pytest.param(raw_body('1, "slippageBps": 1.5'), "slippageBps", id="slippage-1.5"),
    pytest.param(body(slippageBps="50"), "slippageBps", id="slippage-str"),
    pytest.param(body(slippageBps=True), "slippageBps", id="slippage-true"),
    pytest.param(body(slippageBps=False), "slippageBps", id="slippage-false"),
    pytest.param(body(slippageBps=None), "slippageBps", id="slippage-null"),
    pytest.param(body(slippageBps=[50]), "slippageBps", id="slippage-list"),
    pytest.param(body(slippageBps=10**30), "slippageBps", id="slippage-huge"),
    # orderType
    pytest.param(body(orderType="twap"), "orderType", id="orderType-twap"),
    pytest.param(body(orderType=5), "orderType", id="orderType-5"),
    pytest.param(body(orderType=""), "orderType", id="orderType-empty"),
    pytest.param(body(orderType=True), "orderType", id="orderType-true"),
    pytest.param(body(orderType=["market"]), "orderType", id="orderType-list"),
    # unknown fields are named, not ignored
    pytest.param(body(price="150"), "price", id="unknown-field-price"),
    pytest.param(body(side="buy"), "side", id="unknown-field-side"),
    pytest.param(body(tokenin="SOL"), "tokenin", id="unknown-field-wrong-case"),
]


@pytest.mark.parametrize(("data", "field"), FIELD_CASES)
def test_an_invalid_body_is_a_400_naming_the_field_and_stores_nothing(client, data, field):
    before = counts()
    response = post(client, data)
    assert_rejected(response, field)
    assert_nothing_stored(before)


@pytest.mark.parametrize(
    ("token_in", "token_out"),
    [
        # Known tokens no DEX trades yet (until `market launch`): no pool, no hop.
        pytest.param("USDC", "NOVA", id="USDC-NOVA"),
        pytest.param("NOVA", "SOL", id="NOVA-SOL"),
        pytest.param("zap", "moon", id="zap-moon-lowercase"),
    ],
)
def test_a_pair_with_no_pool_is_a_400_that_says_so(client, token_in, token_out):
    before = counts()
    response = post(client, body(tokenIn=token_in, tokenOut=token_out, amount="1"))
    errors = assert_rejected(response, "pair")
    assert "no pool" in " ".join(errors["pair"]).lower()
    assert_nothing_stored(before)


def test_every_bad_field_is_named_at_once(client):
    before = counts()
    response = post(
        client,
        body(tokenIn="DOGE", tokenOut="SHIB", amount="abc", slippageBps=0, orderType="twap"),
    )
    errors = assert_rejected(response)
    assert {"tokenIn", "tokenOut", "amount", "slippageBps", "orderType"} <= set(errors)
    assert_nothing_stored(before)


@pytest.mark.parametrize(
    ("token_in", "token_out"),
    [("USDT", "RAY"), ("BONK", "JUP"), ("bonk", "usdt"), ("RAY", "JUP")],
)
def test_a_pair_without_a_direct_pool_is_routed_through_sol_or_usdc(client, token_in, token_out):
    response = post(client, body(tokenIn=token_in, tokenOut=token_out, amount="1"))
    assert response.status_code == 201, response.content


# --- bodies that are not a JSON object --------------------------------------------------

NOT_AN_OBJECT = [
    pytest.param("NaN", id="NaN"),
    pytest.param("Infinity", id="Infinity"),
    pytest.param("-Infinity", id="-Infinity"),
]


@pytest.mark.parametrize("constant", NOT_AN_OBJECT)
def test_nan_and_infinity_are_refused(client, constant):
    before = counts()
    response = post(client, raw_body(constant))
    assert_rejected(response, "body", "amount")
    assert_nothing_stored(before)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1', id="truncated"),
        pytest.param('{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,}', id="trailing-comma"),
        pytest.param("{'tokenIn': 'SOL', 'tokenOut': 'USDC', 'amount': 1}", id="single-quotes"),
        pytest.param(b'{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}\xff', id="not-utf8"),
        pytest.param("[" * 10_000, id="deeply-nested"),
        pytest.param("", id="empty-body"),
        pytest.param("[]", id="top-level-empty-array"),
        pytest.param(f"[{body()}]", id="top-level-array"),
        pytest.param('"SOL USDC 1.5"', id="top-level-string"),
        pytest.param("1.5", id="top-level-number"),
        pytest.param("true", id="top-level-bool"),
        pytest.param("null", id="top-level-null"),
        pytest.param(
            '{"tokenIn": "SOL", "tokenIn": "BONK", "tokenOut": "USDC", "amount": 1}',
            id="duplicate-key",
        ),
        pytest.param(
            '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "amount": 1}',
            id="duplicate-key-same-value",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(client, data):
    before = counts()
    response = post(client, data)
    assert_rejected(response, statuses=(400, 415))
    assert_nothing_stored(before)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
    ],
)
def test_a_body_that_is_not_declared_json_is_a_415(client, content_type):
    before = counts()
    response = post(client, body(), content_type=content_type)
    assert_rejected(response, statuses=(415,))
    assert_nothing_stored(before)


def test_a_body_over_the_size_limit_is_refused(client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    padded = body()[:-1] + " " * (limit + 1) + "}"
    assert len(padded) > limit
    before = counts()
    response = post(client, padded)
    assert response.status_code in (400, 413), response.status_code
    assert_nothing_stored(before)


def test_an_oversized_body_with_an_oversized_field_stores_nothing(client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = counts()
    response = post(client, body(memo="x" * (limit * 2)))
    assert response.status_code in (400, 413), response.status_code
    assert_nothing_stored(before)


# --- bugs: bodies that are accepted but must not be ---------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param('"1.00000000000000000000000000001"', id="string"),
        pytest.param("1.00000000000000000000000000001", id="number"),
    ],
)
def test_decimals_beyond_the_28_digit_context_are_refused(client, amount):
    before = counts()
    response = post(client, raw_body(amount))
    assert_rejected(response, "amount")
    assert_nothing_stored(before)


def test_an_amount_too_small_for_any_token_is_a_400_not_a_500(client):
    before = counts()
    response = post(client, raw_body("1e-999999999999"))
    assert_rejected(response, "amount")
    assert_nothing_stored(before)


def test_a_non_ascii_look_alike_symbol_is_refused(client):
    before = counts()
    response = post(client, body(tokenIn="\u017fol"))
    assert_rejected(response, "tokenIn")
    assert_nothing_stored(before)


# --- valid bodies ---------------------------------------------------------------------


def accepted(client: APIClient, data: str) -> tuple[dict[str, Any], Order]:
    before = counts()
    response = post(client, data)
    assert response.status_code == 201, (response.status_code, response.content[:500])
    payload = response.json()
    order_id = uuid.UUID(payload["orderId"])
    assert order_id.version == 4
    assert str(order_id) == payload["orderId"]
    assert payload["status"] == "pending"
    assert counts() == (before[0] + 1, before[1] + 1)
    order = Order.objects.get(public_id=order_id)
    return payload, order


def test_a_valid_order_is_stored_pending_with_its_first_event(client):
    payload, order = accepted(client, '{"tokenIn":"sol","tokenOut":"usdc","amount":1.5}')
    assert (order.token_in, order.token_out) == ("SOL", "USDC")
    assert order.amount_in == Decimal("1.5")
    assert order.status == Order.Status.PENDING
    assert order.slippage_bps == 50
    assert order.order_type == "market"
    assert list(order.events.values_list("seq", "status")) == [(1, "pending")]
    assert payload["tokenIn"] == "SOL"
    assert payload["tokenOut"] == "USDC"
    assert payload["amountIn"] == "1.5"
    assert payload["slippageBps"] == 50
    assert payload["orderType"] == "market"


def test_the_201_points_at_the_order(client):
    response = post(client, body())
    assert response.status_code == 201
    order_id = response.json()["orderId"]
    assert response["Location"].endswith(f"/api/orders/{order_id}")
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(raw_body('"1.5"'), Decimal("1.5"), id="decimal-string"),
        pytest.param(raw_body("2"), Decimal(2), id="integer"),
        pytest.param(raw_body('"2"'), Decimal(2), id="integer-string"),
        pytest.param(raw_body("1.50"), Decimal("1.5"), id="trailing-zero"),
        pytest.param(raw_body("1e3"), Decimal(1000), id="json-exponent"),
        pytest.param(raw_body("0.000000001"), Decimal("0.000000001"), id="SOL-9-decimals"),
        pytest.param(raw_body('"0.000000001"'), Decimal("0.000000001"), id="SOL-9-decimals-str"),
        pytest.param(raw_body("1.000000000"), Decimal(1), id="SOL-9-zero-decimals"),
        pytest.param(raw_body("50000"), Decimal(50000), id="SOL-at-max"),
        pytest.param(
            raw_body("12345.123456789"), Decimal("12345.123456789"), id="SOL-exact-not-float"
        ),
        pytest.param(raw_body("0.000001", "USDC", "SOL"), Decimal("0.000001"), id="USDC-6-dec"),
        pytest.param(
            raw_body("9999999.999999", "USDC", "SOL"), Decimal("9999999.999999"), id="USDC-near-max"
        ),
        pytest.param(raw_body("0.00001", "BONK", "SOL"), Decimal("0.00001"), id="BONK-5-dec"),
        pytest.param(
            raw_body("399999999999.99999", "BONK", "USDC"),
            Decimal("399999999999.99999"),
            id="BONK-near-max",
        ),
    ],
)
def test_valid_amounts_are_stored_exactly(client, data, expected):
    _, order = accepted(client, data)
    assert order.amount_in == expected


@pytest.mark.parametrize("slippage", [1, 50, 5000])
def test_slippage_within_bounds_is_accepted(client, slippage):
    payload, order = accepted(client, body(slippageBps=slippage))
    assert order.slippage_bps == slippage
    assert payload["slippageBps"] == slippage


def test_order_type_market_is_accepted(client):
    _, order = accepted(client, body(orderType="market"))
    assert order.order_type == "market"


@pytest.mark.parametrize(
    ("token_in", "token_out"),
    [("SOL", "USDC"), ("USDC", "SOL"), ("USDC", "USDT"), ("BONK", "SOL"), ("jup", "usdc")],
)
def test_pairs_with_a_pool_are_accepted(client, token_in, token_out):
    _, order = accepted(client, body(tokenIn=token_in, tokenOut=token_out, amount="10"))
    assert (order.token_in, order.token_out) == (token_in.upper(), token_out.upper())


def test_an_unreachable_database_is_a_503_with_retry_after_not_an_html_500(client, monkeypatch):
    def unreachable(**_: Any) -> None:
        raise OperationalError("couldn't get a connection after 5.00 sec")

    monkeypatch.setattr("orders.api.views.order_create", unreachable)
    response = client.post(URL, body(), content_type=JSON)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database" in response.json()["errors"]
