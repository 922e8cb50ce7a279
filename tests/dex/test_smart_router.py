"""Smart routing on the real pool math: splits across both DEXes, hops through SOL or
USDC, and the atomic execution of every leg in one transaction."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dex.errors import DexError, NoRouteError
from dex.market import Market
from dex.network import _KEY, _ORDER_KEY, MockNetwork
from dex.quotes import Quote
from dex.router import split_input
from dex.smart_router import find_route, plan_route, quotes_at
from dex.tokens import get_token
from dex.venues import METEORA, RAYDIUM, build_venues

D = Decimal
T0 = 1_700_000_000.0
VENUES = list(build_venues(market=Market(42), quote_latency_s=0).values())


def plan(token_in: str, token_out: str, amount: str | Decimal, t: float = T0):
    amount = D(amount)
    return plan_route(
        VENUES,
        quotes=quotes_at(VENUES, token_in, token_out, amount, t),
        token_in=token_in,
        token_out=token_out,
        amount=amount,
        t=t,
    )


def test_a_large_order_is_split_and_pays_more_than_either_dex_alone():
    route = plan("SOL", "USDC", "5000")
    assert {leg.quote.dex for leg in route.plan} == {RAYDIUM, METEORA}
    assert sum(leg.percent for leg in route.plan) == 100
    assert route.out_amount > max(q.out_amount for q in route.quotes.values())
    assert route.dex in ("meteora+raydium", "raydium+meteora")
    assert "alone" in route.reason and "+" in route.reason
    # The single-pool quotes are kept so a client sees the gain.
    assert set(route.quotes) == {RAYDIUM, METEORA}


def test_a_small_order_stays_on_one_pool():
    route = plan("SOL", "USDC", "1.5")
    assert len(route.plan) == 1 and route.legs == ()
    assert route.out_amount == route.chosen.out_amount


def test_a_pair_without_a_pool_hops_through_a_hub():
    route = plan("BONK", "JUP", "100000000")
    assert route.chosen is None
    assert route.path in (["BONK", "SOL", "JUP"], ["BONK", "USDC", "JUP"])
    assert route.plan[0].hop == 0 and route.plan[-1].hop == 1
    assert route.reason.startswith("no direct pool: ")


def test_no_route_at_all_is_refused():
    with pytest.raises(NoRouteError):
        plan("USDC", "NOVA", "10")


def test_find_route_quotes_in_one_latency_even_when_it_must_hop():
    slow = list(build_venues(market=Market(42), quote_latency_s=0.05).values())
    route = asyncio.run(find_route(slow, token_in="BONK", token_out="JUP", amount=D(10**8)))
    assert route.out_amount > 0 and route.plan[-1].hop == 1


PAIRS = [("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "USDT"), ("BONK", "JUP"), ("JUP", "SOL")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=st.sampled_from(PAIRS),
    fraction=st.floats(min_value=1e-7, max_value=0.5),
    t=st.floats(min_value=T0, max_value=T0 + 86_400),
)
def test_properties_of_every_route(pair, fraction, t):
    token_in, token_out = pair
    token = get_token(token_in)
    amount = (token.max_amount * D(repr(fraction))).quantize(token.unit)
    if amount <= 0:
        return
    try:
        route = plan(token_in, token_out, amount, t)
    except DexError:
        return  # nothing can fill it: a 400, tested elsewhere
    # Never less than the best single pool.
    best_single = max(
        (q.out_amount for q in route.quotes.values() if isinstance(q, Quote)), default=D(0)
    )
    assert route.out_amount >= best_single
    # The legs' inputs add up to the order, their outputs to the total, hop by hop.
    hops = sorted({leg.hop for leg in route.plan})
    hop_input = amount
    for hop in hops:
        legs = [leg for leg in route.plan if leg.hop == hop]
        assert sum(leg.percent for leg in legs) == 100
        assert all(leg.percent >= 5 for leg in legs)
        assert sum(leg.quote.in_amount for leg in legs) == hop_input
        for leg in legs:  # exact in each token's decimals
            assert leg.quote.in_amount == leg.quote.in_amount.quantize(
                get_token(leg.quote.token_in).unit
            )
            assert leg.quote.out_amount == leg.quote.out_amount.quantize(
                get_token(leg.quote.token_out).unit
            )
        hop_input = sum(leg.quote.out_amount for leg in legs)
    assert hop_input == route.out_amount
    assert route.path[0] == token_in and route.path[-1] == token_out


@given(
    amount=st.decimals(min_value=D("0.000000001"), max_value=D(10**9), places=9),
    first=st.integers(min_value=0, max_value=100),
)
def test_split_input_adds_up_exactly(amount, first):
    shares = split_input(amount, [first, 100 - first], "SOL")
    assert sum(shares) == amount
    assert all(share == share.quantize(D("1e-9")) for share in shares)


def test_every_leg_lands_in_one_transaction_or_none(redis_client):
    # Planned at the moment it is sent: the network prices the fill when it lands.
    route = plan("SOL", "USDC", "2500", time.time())
    network = MockNetwork(
        client=redis_client,
        seed=42,
        venues={venue.name: venue for venue in VENUES},
        failure_rate=0,
        execute_latency_s=(0, 0),
        blockhash_ttl_s=60,
    )
    legs = [
        {
            "hop": leg.hop,
            "percent": leg.percent,
            "dex": leg.quote.dex,
            "pool": leg.quote.pool,
            "tokenIn": leg.quote.token_in,
            "tokenOut": leg.quote.token_out,
        }
        for leg in route.plan
    ]
    order_id = f"split-{uuid.uuid4()}"
    blockhash = network.recent_blockhash()
    tx = network.sign_swap(
        order_id=order_id,
        attempt=1,
        dex=route.dex,
        pool=route.pool,
        token_in="SOL",
        token_out="USDC",
        amount_in=D(2500),
        min_amount_out=route.min_out(300),
        blockhash=blockhash,
        legs=legs,
    )
    greedy = network.sign_swap(
        order_id=order_id,
        attempt=2,
        dex=route.dex,
        pool=route.pool,
        token_in="SOL",
        token_out="USDC",
        amount_in=D(2500),
        min_amount_out=route.out_amount * 2,
        blockhash=blockhash,
        legs=legs,
    )
    try:
        receipt = network.submit(tx)
        landed = network.status(receipt.signature, now=receipt.lands_at + 1)
        assert landed.state == "confirmed"
        # One signature for the lot: the fill is every leg priced when it landed.
        fills = split_input(D(2500), [leg.percent for leg in route.plan], "SOL")
        expected = sum(
            VENUES[[v.name for v in VENUES].index(leg.quote.dex)]
            .quote_at(token_in="SOL", token_out="USDC", amount=share, t=receipt.lands_at)
            .out_amount
            for leg, share in zip(route.plan, fills, strict=True)
        )
        assert landed.amount_out == expected
        assert network.transaction_count(order_id) == 1
        # A minimum the total cannot reach fails the whole transaction, not one leg.
        greedy = network.sign_swap(
            order_id=order_id,
            attempt=2,
            dex=route.dex,
            pool=route.pool,
            token_in="SOL",
            token_out="USDC",
            amount_in=D(2500),
            min_amount_out=route.out_amount * 2,
            blockhash=blockhash,
            legs=legs,
        )
        failed = network.submit(greedy)
        outcome = network.status(failed.signature, now=failed.lands_at + 1)
        assert outcome.state == "failed" and outcome.failure == "slippage"
    finally:
        for signature in (tx["signature"], greedy["signature"]):
            redis_client.delete(_KEY.format(signature))
        redis_client.delete(_ORDER_KEY.format(order_id))
