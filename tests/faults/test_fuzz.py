"""Property-based fuzzing of the two order doors: the execute WebSocket and the HTTP POST.

Bodies come from a grammar whose every value carries its own verdict (valid or not,
written from the contract, not from the engine's validators), so the property is exact:
the engine accepts a body if and only if the contract says it is valid; a refused body
stores nothing; nothing ever crashes (no 500, no consumer exception). Junk text, binary
frames, arbitrary JSON and duplicate keys are thrown in too.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from dex.smart_router import HUBS
from dex.tokens import TOKENS
from dex.venues import pair_has_pool
from engine_project.asgi import application
from orders.models import Order, OrderEvent
from orders.notifications import NullNotifier
from orders.services.order_queue import NullOrderQueue

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (numbers a float cannot hold, NaN, exponents)."""

    text: str


@dataclass(frozen=True)
class Case:
    frame: str | bytes
    valid: bool
    why: str


def encode(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Decimal):
        return str(value)  # may be 1.5E-7: still a JSON number
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(encode(v) for v in value) + "]"
    return json.dumps(value)


# --- labelled values ------------------------------------------------------------------------

SYMBOLS = sorted(TOKENS)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def odds(percent: int) -> st.SearchStrategy[bool]:
    """True about ``percent`` % of the time. Hypothesis draws the ends of an integer range
    far more often than the middle, so the True values sit in the middle of 0..99."""
    low = 50 - percent // 2
    return st.integers(0, 99).map(lambda n: low <= n < low + percent)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, in_ten: int = 8) -> st.SearchStrategy:
    """``good`` about ``in_ten`` times in ten, else ``bad`` (st.one_of weighs branches alike)."""
    return odds(in_ten * 10).flatmap(lambda yes: good if yes else bad)


# A token: (JSON value, the symbol it names if valid, else None).
def spellings(symbol: str) -> st.SearchStrategy:
    return st.sampled_from([symbol, symbol.lower(), symbol.title(), f" {symbol} "]).map(
        lambda value: (value, symbol)
    )


good_tokens = st.sampled_from(SYMBOLS).flatmap(spellings)
bad_tokens = st.one_of(
    st.sampled_from(["BTC", "", "S O L", "\u017fol", "SOL\u0000", "SOLUSDC", "wSOL", "\u0455ol"]),
    json_scalars.filter(lambda v: not (isinstance(v, str) and v.strip().upper() in TOKENS)),
).map(lambda value: (value, None))
tokens = mostly(good_tokens, bad_tokens)


def routable(a: str, b: str) -> bool:
    """A pool for the pair, or two through SOL or USDC (smart routing)."""
    return pair_has_pool(a, b) or any(
        hub not in (a, b) and pair_has_pool(a, hub) and pair_has_pool(hub, b) for hub in HUBS
    )


POOLED = [(a, b) for a in SYMBOLS for b in SYMBOLS if a != b and routable(a, b)]
pairs = mostly(
    st.sampled_from(POOLED).flatmap(lambda p: st.tuples(spellings(p[0]), spellings(p[1]))),
    st.tuples(tokens, tokens),
    in_ten=7,
)

# An amount: (JSON value, its Decimal value if its form is acceptable, else None).
positive_decimals = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    mostly(st.integers(1, 10**6), st.integers(0, 10**15), in_ten=9),
    st.integers(0, 9),
)
good_amount_forms = positive_decimals.flatmap(
    lambda d: st.sampled_from(
        [
            format(d, "f"),  # decimal string
            Raw(format(d, "f")),  # JSON number
            d,  # JSON number, maybe in exponent form (1.5E-7)
        ]
    ).map(lambda value, d=d: (value, d))
)
bad_amounts = st.sampled_from(
    [
        "-1.5",
        "1e3",
        "1E3",
        "1_000",
        "\u0661\u0662\u0663",
        "+1",
        " 1.5",
        "1.",
        ".5",
        "",
        "NaN",
        "Infinity",
        "0x10",
        True,
        False,
        None,
        [],
        {},
        [1.5],
        Raw("NaN"),
        Raw("-Infinity"),
        Raw("-1"),
        Raw("-0.0"),
        Raw("1e400"),
        Raw("-1e-3"),
    ]
).map(lambda value: (value, None))
amounts = mostly(good_amount_forms, bad_amounts)

slippages = mostly(
    st.integers(1, 5000).map(lambda v: (v, True)),
    st.one_of(
        st.integers(-100, 6000).map(lambda v: (v, 1 <= v <= 5000)),
        st.sampled_from(["50", True, None, Raw("50.0"), Raw("5e1"), 10**20, [50]]).map(
            lambda v: (v, False)
        ),
    ),
)
order_types = mostly(
    st.just(("market", True)),
    st.sampled_from([("limit", False), ("", False), ("MARKET ", False), (0, False), (None, False)]),
    in_ten=6,
)


def amount_ok(value: Decimal | None, symbol: str) -> bool:
    if value is None or value <= 0:
        return False
    token = TOKENS[symbol]
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return places <= token.decimals and value <= token.max_amount


@st.composite
def order_bodies(draw: Any) -> Case:
    """A body near the valid ones, with its verdict from the contract's rules."""
    (token_in, symbol_in), (token_out, symbol_out) = draw(pairs)
    amount, value = draw(amounts)
    body: dict[str, Any] = {}
    reasons = []
    for key, item in (("tokenIn", token_in), ("tokenOut", token_out), ("amount", amount)):
        if draw(odds(5)):
            reasons.append(f"no {key}")
        else:
            body[key] = item
    if draw(odds(50)):
        body["slippageBps"], ok = draw(slippages)
        if not ok:
            reasons.append("bad slippageBps")
    if draw(odds(25)):
        body["orderType"], ok = draw(order_types)
        if not ok:
            reasons.append("bad orderType")
    if draw(odds(8)):
        body[draw(st.sampled_from(["price", "TokenIn", "", "amount "]))] = draw(json_scalars)
        reasons.append("unknown field")
    if symbol_in is None or symbol_out is None:
        reasons.append("unsupported token")
    elif symbol_in == symbol_out:
        reasons.append("same token")
    elif not routable(symbol_in, symbol_out):
        reasons.append("no pool")
    elif not amount_ok(value, symbol_in):
        reasons.append("bad amount")
    keys = list(body)
    order = draw(st.permutations(keys))
    text = encode({key: body[key] for key in order})
    if keys and draw(odds(8)):
        key = draw(st.sampled_from(keys))
        text = text[:-1] + f", {json.dumps(key)}: {encode(body[key])}" + "}"
        reasons.append("duplicate key")
    return Case(text, not reasons, ", ".join(reasons) or "valid")


junk = (
    st.text(max_size=80).map(lambda t: Case(t, False, "junk text"))
    | json_values.map(lambda v: Case(json.dumps(v), False, "arbitrary JSON"))
    | st.binary(max_size=64).map(lambda b: Case(b, False, "binary frame"))
)
cases = order_bodies() | order_bodies() | junk


def counts() -> tuple[int, int]:
    return Order.objects.count(), OrderEvent.objects.count()


# --- the execute WebSocket ------------------------------------------------------------------


async def first_message_exchange(frame: str | bytes) -> tuple[list[dict], int | None]:
    """Send ``frame`` as the first message; collect replies until close (or the orderId)."""
    communicator = WebsocketCommunicator(application, "/api/orders/execute")
    try:
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        # send_input, not send_to: an empty frame is a frame too.
        kind = "bytes" if isinstance(frame, bytes) else "text"
        await communicator.send_input({"type": "websocket.receive", kind: frame})
        messages: list[dict] = []
        while True:
            output = await communicator.receive_output(10)  # re-raises a consumer crash
            if output["type"] == "websocket.close":
                return messages, output.get("code", 1000)
            messages.append(json.loads(output["text"]))
            if "orderId" in messages[0]:
                return messages, None
    finally:
        # What daphne does once a socket is gone: the consumer runs its disconnect.
        await communicator.disconnect()


@FUZZ
@given(case=cases)
def test_the_execute_socket_takes_exactly_the_valid_first_messages(case: Case) -> None:
    event(case.why.split(",")[0])
    before = counts()
    with (
        mock.patch("orders.services.creation.default_order_queue", NullOrderQueue),
        mock.patch("orders.services.creation.default_notifier", NullNotifier),
    ):
        messages, code = asyncio.run(first_message_exchange(case.frame))
    after = counts()
    if case.valid:
        assert code is None, (case, messages, code)
        order = Order.objects.get(public_id=messages[0]["orderId"])
        assert order.status == "pending" and order.last_seq == 1
        assert after == (before[0] + 1, before[1] + 1)
    else:
        assert code == 4400, (case, messages, code)
        assert len(messages) == 1 and messages[0]["errors"], (case, messages)
        assert after == before, case


# --- the HTTP door ---------------------------------------------------------------------------


@FUZZ
@given(case=cases, host=st.integers(1, 250))
def test_the_http_door_takes_exactly_the_valid_bodies(case: Case, host: int) -> None:
    event(case.why.split(",")[0])
    api = APIClient()
    api.raise_request_exception = False  # a server error must be a status, not a raise
    before = counts()
    with (
        mock.patch("orders.services.creation.default_order_queue", NullOrderQueue),
        mock.patch("orders.services.creation.default_notifier", NullNotifier),
    ):
        response = api.post(
            "/api/orders/execute",
            data=case.frame,
            content_type="application/json",
            REMOTE_ADDR=f"198.51.100.{host}",  # the per-client rate limit is not under test
        )
    after = counts()
    assert response.status_code < 500, (case, response.status_code, response.content[:300])
    if case.valid:
        assert response.status_code == 201, (case, response.content[:300])
        assert after == (before[0] + 1, before[1] + 1)
    else:
        assert response.status_code in (400, 415), (case, response.status_code, response.content)
        assert response.json()["errors"], case
        assert after == before, case
