"""Split and hopped orders end to end, with real daphne and a real Celery worker: each is
one transaction with one txHash, and the route says what it gained."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import transactions_sent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_large_order_is_split_across_both_dexes_in_one_transaction(live_engine):
    body = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "2500", "slippageBps": 300}
    status, quote = live_engine.request(
        "GET", "/api/quote?tokenIn=SOL&tokenOut=USDC&amount=2500&slippageBps=300"
    )
    assert status == 200 and len(quote["routePlan"]) == 2, quote
    assert sum(leg["percent"] for leg in quote["routePlan"]) == 100
    assert float(quote["outAmount"]) > max(float(q["outAmount"]) for q in quote["quotes"].values())

    status, answer = live_engine.request("POST", "/api/orders/execute", body)
    assert status == 201, answer
    order = live_engine.wait_terminal(answer["orderId"])
    assert order["status"] == "confirmed", order["error"]
    plan = order["route"]["routePlan"]
    assert {leg["dex"] for leg in plan} == {"raydium", "meteora"}
    routing = next(e for e in order["events"] if e["status"] == "routing")
    assert routing["details"]["routePlan"] == plan
    assert "alone" in routing["details"]["reason"]
    assert set(routing["quotes"]) == {"raydium", "meteora"}  # each DEX's single-pool quote
    assert order["txHash"] and transactions_sent(order["orderId"]) == 1


def test_a_pair_without_a_pool_is_routed_through_a_hub(live_engine):
    body = {"tokenIn": "BONK", "tokenOut": "JUP", "amount": "100000000", "slippageBps": 100}
    status, answer = live_engine.request("POST", "/api/orders/execute", body)
    assert status == 201, answer
    order = live_engine.wait_terminal(answer["orderId"])
    assert order["status"] == "confirmed", order["error"]
    plan = order["route"]["routePlan"]
    assert plan[0]["inputToken"] == "BONK" and plan[-1]["outputToken"] == "JUP"
    hub = plan[0]["outputToken"]
    assert hub in ("SOL", "USDC") and plan[-1]["inputToken"] == hub
    assert order["route"]["path"] in ("BONK -> wSOL -> JUP", "BONK -> USDC -> JUP")
    assert float(order["amountOut"]) >= float(order["minAmountOut"]) > 0
    assert transactions_sent(order["orderId"]) == 1
