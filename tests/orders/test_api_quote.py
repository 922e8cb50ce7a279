"""GET /api/quote and GET /api/tokens: the router's answer without an order, held to the
order body's rules; real Redis for the market and the quota, real PostgreSQL untouched."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from dex.tokens import TOKENS
from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db

QUOTE = "/api/quote"


@pytest.fixture
def api(make_gateway, monkeypatch) -> APIClient:
    """Quotes on the test market without the DEXes' latency; errors as statuses."""
    gateway = make_gateway()
    monkeypatch.setattr("orders.quoting.default_gateway", lambda: gateway)
    client = APIClient()
    client.raise_request_exception = False
    return client


def quote(api: APIClient, query: str, client: str | None = None) -> Any:
    return api.get(f"{QUOTE}?{query}", REMOTE_ADDR=client or fresh_client())


def fresh_client() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def test_a_quote_is_the_router_choice_with_its_executable_price(api):
    response = quote(api, "tokenIn=sol&tokenOut=USDC&amount=1.5&slippageBps=100")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["tokenIn"], answer["tokenOut"], answer["inAmount"]) == ("SOL", "USDC", "1.5")
    assert answer["slippageBps"] == 100
    quotes = answer["quotes"]
    assert set(quotes) == {"raydium", "meteora"}
    best = max(quotes.values(), key=lambda q: Decimal(q["outAmount"]))
    assert answer["outAmount"] == best["outAmount"]
    assert answer["minOutAmount"] == best["minOutAmount"]
    assert Decimal(answer["minOutAmount"]) < Decimal(answer["outAmount"])
    price = Decimal(answer["price"])
    exact = Decimal(answer["outAmount"]) / Decimal("1.5")
    assert abs(price - exact) / exact < Decimal("1e-9")
    (leg,) = answer["routePlan"]
    assert leg["dex"] == best["dex"] and leg["pool"] == best["pool"] and leg["percent"] == 100
    assert (leg["inputToken"], leg["outputToken"]) == ("SOL", "USDC")
    assert (leg["inAmount"], leg["outAmount"]) == ("1.5", answer["outAmount"])
    assert leg["feeToken"] == "SOL" and Decimal(leg["feeAmount"]) > 0
    assert best["dex"] in answer["reason"]
    assert "wSOL" in answer["wrappedSol"]


def test_the_default_slippage_is_the_order_default(api):
    answer = quote(api, "tokenIn=USDC&tokenOut=USDT&amount=100").json()
    assert answer["slippageBps"] == 50
    assert answer["wrappedSol"] is None


BAD_BODIES = [
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1e3"}, "amount"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0"}, "amount"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "NaN"}, "amount"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.1234567891"}, "amount"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "50001"}, "amount"),
    ({"tokenIn": "SOL", "tokenOut": "SOL", "amount": "1"}, "tokenOut"),
    ({"tokenIn": "DOGE", "tokenOut": "USDC", "amount": "1"}, "tokenIn"),
    ({"tokenIn": "USDT", "tokenOut": "NOVA", "amount": "1"}, "pair"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "slippageBps": 0}, "slippageBps"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "slippageBps": 5001}, "slippageBps"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "orderType": "twap"}, "orderType"),
    ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "colour": "red"}, "colour"),
    ({"tokenIn": "SOL", "tokenOut": "USDC"}, "amount"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_a_quote_refuses_what_an_order_refuses_and_names_the_same_field(api, body, field):
    before = Order.objects.count(), OrderEvent.objects.count()
    order = api.post(
        "/api/orders/execute",
        json.dumps(body),
        content_type="application/json",
        REMOTE_ADDR=fresh_client(),
    )
    answer = quote(api, urlencode(body))
    assert order.status_code == answer.status_code == 400, (order.content, answer.content)
    assert field in answer.json()["errors"]
    assert set(answer.json()["errors"]) == set(order.json()["errors"])
    assert (Order.objects.count(), OrderEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tokenIn=SOL&tokenIn=BONK&tokenOut=USDC&amount=1", "tokenIn"),
        ("tokenIn=SOL&tokenOut=USDC&amount=1&slippageBps=1.5", "slippageBps"),
        ("tokenIn=SOL&tokenOut=USDC&amount=1&slippageBps=-3", "slippageBps"),
        ("tokenIn=SOL&tokenOut=USDC&amount=%EF%BC%91", "amount"),  # a full-width digit
    ],
)
def test_query_string_tricks_are_refused_by_name(api, query, field):
    response = quote(api, query)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_an_order_too_large_for_every_pool_is_a_400_naming_the_amount(api, monkeypatch):
    from dex.errors import InsufficientLiquidityError

    def dry(**_: Any) -> Any:
        raise InsufficientLiquidityError("the pools cannot fill 49999 SOL")

    monkeypatch.setattr("orders.api.market_views.quote_best", dry)
    response = quote(api, "tokenIn=SOL&tokenOut=USDC&amount=49999")
    assert response.status_code == 400
    assert "cannot fill" in response.json()["errors"]["amount"][0]


def test_quotes_have_a_quota_of_their_own(api, settings):
    settings.ORDER_SUBMIT_RATE = "2/min"
    client = fresh_client()
    codes = [quote(api, "tokenIn=SOL&tokenOut=USDC&amount=1", client).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    order = api.post(
        "/api/orders/execute",
        json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}),
        content_type="application/json",
        REMOTE_ADDR=client,
    )
    assert order.status_code == 201  # quoting did not spend the order quota


def test_tokens_lists_every_token_with_its_facts(api):
    response = api.get("/api/tokens")
    assert response.status_code == 200
    listed = {token["symbol"]: token for token in response.json()}
    assert set(listed) == set(TOKENS)
    for symbol, token in TOKENS.items():
        entry = listed[symbol]
        assert (entry["decimals"], entry["mint"]) == (token.decimals, token.mint)
        # Three tokens have no pool until an operator launches one (for snipers).
        assert entry["trading"] is (symbol not in {"NOVA", "ZAP", "MOON"}), symbol
    assert listed["SOL"]["native"] is True


def test_the_schema_documents_quotes_and_tokens(api):
    text = api.get("/api/schema/").content.decode()
    assert "/api/quote:" in text and "/api/tokens:" in text
    assert "routePlan" in text
