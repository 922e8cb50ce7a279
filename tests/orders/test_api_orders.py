"""GET /api/orders (history) and GET /api/orders/<orderId> (one order and its timeline)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from orders.models import Order
from orders.services.transitions import order_transition

pytestmark = pytest.mark.django_db

LIST_URL = "/api/orders"
MONEY_KEYS = {"amountIn", "amountOut", "minAmountOut", "executedPrice"}


def detail_url(order_id: Any) -> str:
    return f"{LIST_URL}/{order_id}"


def get_json(api, url: str, expected_status: int = 200, **params: Any) -> dict[str, Any]:
    response = api.get(url, params)
    assert response.status_code == expected_status, (response.status_code, response.content)
    return response.json()


def ids(payload: dict[str, Any]) -> list[str]:
    return [row["orderId"] for row in payload["results"]]


def money_values(tree: Any) -> list[tuple[str, Any]]:
    """Every (key, value) under a money key, at any depth."""
    found: list[tuple[str, Any]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in MONEY_KEYS:
                found.append((key, value))
            found.extend(money_values(value))
    elif isinstance(tree, list):
        for item in tree:
            found.extend(money_values(item))
    return found


def confirm(order: Order, recorder) -> Order:
    for status in ("routing", "building", "submitted"):
        assert order_transition(order=order, to=status, notifier=recorder)
    assert order_transition(
        order=order,
        to="confirmed",
        notifier=recorder,
        changes={
            "amount_out": Decimal("221.987654"),
            "min_amount_out": Decimal("220.5"),
            "executed_price": Decimal("147.991769333"),
            "tx_hash": "5" * 88,
        },
        event={
            "amount_out": Decimal("221.987654"),
            "executed_price": Decimal("147.991769333"),
            "tx_hash": "5" * 88,
        },
    )
    return order


# --- list ------------------------------------------------------------------------------


def test_an_empty_history_is_an_empty_page(api):
    payload = get_json(api, LIST_URL)
    assert payload == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_history_is_newest_first(api, make_order):
    created = [str(make_order().public_id) for _ in range(4)]
    payload = get_json(api, LIST_URL)
    assert payload["count"] == 4
    assert ids(payload) == created[::-1]


def test_the_history_is_paginated(api, make_order):
    created = [str(make_order().public_id) for _ in range(5)][::-1]

    first = get_json(api, LIST_URL, pageSize=2)
    assert set(first) >= {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert ids(first) == created[0:2]
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert "pageSize=2" in first["next"]

    second = get_json(api, LIST_URL, pageSize=2, page=2)
    assert ids(second) == created[2:4]
    assert second["previous"] is not None and second["next"] is not None

    last = get_json(api, LIST_URL, pageSize=2, page=3)
    assert ids(last) == created[4:5]
    assert last["next"] is None
    assert last["count"] == 5


def test_following_next_links_walks_every_order_once(api, make_order):
    created = {str(make_order().public_id) for _ in range(7)}
    seen: list[str] = []
    url: str | None = f"{LIST_URL}?pageSize=3"
    while url:
        response = api.get(url)
        assert response.status_code == 200
        payload = response.json()
        seen.extend(ids(payload))
        url = payload["next"]
    assert sorted(seen) == sorted(created)


def test_a_page_past_the_end_is_a_404(api, make_order):
    make_order()
    response = api.get(LIST_URL, {"page": 5})
    assert response.status_code == 404


def test_list_filters_by_status(api, make_order, recorder):
    pending = make_order()
    routing = make_order()
    assert order_transition(order=routing, to="routing", notifier=recorder)
    failed = make_order()
    assert order_transition(order=failed, to="failed", notifier=recorder, changes={"error": "x"})

    assert ids(get_json(api, LIST_URL, status="routing")) == [str(routing.public_id)]
    assert ids(get_json(api, LIST_URL, status="pending")) == [str(pending.public_id)]
    assert ids(get_json(api, LIST_URL, status="failed")) == [str(failed.public_id)]
    assert get_json(api, LIST_URL, status="confirmed")["count"] == 0
    assert get_json(api, LIST_URL)["count"] == 3


def test_list_filters_by_token_case_insensitively(api, make_order):
    sol_usdc = make_order(token_in="SOL", token_out="USDC")
    bonk_sol = make_order(token_in="BONK", token_out="SOL", amount=Decimal(1000000))
    usdc_sol = make_order(token_in="USDC", token_out="SOL", amount=Decimal(100))

    assert ids(get_json(api, LIST_URL, tokenIn="bonk")) == [str(bonk_sol.public_id)]
    assert ids(get_json(api, LIST_URL, tokenIn="SOL")) == [str(sol_usdc.public_id)]
    assert ids(get_json(api, LIST_URL, tokenOut="sol")) == [
        str(usdc_sol.public_id),
        str(bonk_sol.public_id),
    ]
    assert ids(get_json(api, LIST_URL, tokenIn="Usdc", tokenOut="SOL")) == [str(usdc_sol.public_id)]
    assert get_json(api, LIST_URL, tokenIn="USDT")["count"] == 0


def test_filters_combine(api, make_order, recorder):
    make_order(token_in="SOL", token_out="USDC")
    routing = make_order(token_in="SOL", token_out="USDC")
    assert order_transition(order=routing, to="routing", notifier=recorder)
    other = make_order(token_in="USDC", token_out="SOL", amount=Decimal(5))
    assert order_transition(order=other, to="routing", notifier=recorder)

    payload = get_json(api, LIST_URL, status="routing", tokenIn="sol")
    assert ids(payload) == [str(routing.public_id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"status": "bogus"}, "status", id="status-bogus"),
        pytest.param({"status": "done"}, "status", id="status-done"),
        pytest.param({"tokenIn": "DOGE"}, "tokenIn", id="tokenIn-unknown"),
        pytest.param({"tokenOut": "DOGE"}, "tokenOut", id="tokenOut-unknown"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_it(api, make_order, params, field):
    make_order()
    response = api.get(LIST_URL, params)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors
    assert all(isinstance(message, str) for message in errors[field])


def test_list_rows_carry_the_order_fields(api, make_order):
    order = make_order(amount=Decimal("1.25"), slippage_bps=75)
    [row] = get_json(api, LIST_URL)["results"]
    assert row["orderId"] == str(order.public_id)
    assert row["status"] == "pending"
    assert (row["tokenIn"], row["tokenOut"]) == ("SOL", "USDC")
    assert row["amountIn"] == "1.25"
    assert row["slippageBps"] == 75


# --- detail ----------------------------------------------------------------------------


def test_an_order_comes_with_its_timeline(api, make_order):
    order = make_order()
    payload = get_json(api, detail_url(order.public_id))
    assert payload["orderId"] == str(order.public_id)
    assert payload["status"] == "pending"
    assert payload["tokenIn"] == "SOL" and payload["tokenOut"] == "USDC"
    assert payload["amountIn"] == "1.5"
    [event] = payload["events"]
    assert event["seq"] == 1
    assert event["status"] == "pending"
    assert event["orderId"] == str(order.public_id)
    assert event["at"].endswith("Z")


def test_the_timeline_lists_every_event_oldest_first(api, make_order, recorder):
    order = confirm(make_order(), recorder)
    payload = get_json(api, detail_url(order.public_id))
    assert payload["status"] == "confirmed"
    assert [(e["seq"], e["status"]) for e in payload["events"]] == [
        (1, "pending"),
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]
    last = payload["events"][-1]
    assert last["txHash"] == "5" * 88
    assert last["amountOut"] == "221.987654"


def test_an_order_id_is_found_in_upper_case_too(api, make_order):
    order = make_order()
    payload = get_json(api, detail_url(str(order.public_id).upper()))
    assert payload["orderId"] == str(order.public_id)


@pytest.mark.parametrize(
    "order_id",
    [
        pytest.param(str(uuid.uuid4()), id="unknown-uuid"),
        pytest.param("abc", id="malformed"),
        pytest.param("1", id="serial-pk-is-not-an-order-id"),
        pytest.param("00000000-0000-0000-0000-00000000000g", id="not-hex"),
    ],
)
def test_an_unknown_order_is_a_404(api, make_order, order_id):
    make_order()
    response = api.get(detail_url(order_id))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


# --- money is never a float ------------------------------------------------------------


def test_money_is_a_decimal_string_everywhere(api, make_order, recorder):
    order = confirm(make_order(amount=Decimal("0.123456789")), recorder)
    make_order(token_in="BONK", token_out="USDC", amount=Decimal("399999999999.99999"))

    listing = api.get(LIST_URL)
    detail = api.get(detail_url(order.public_id))
    for response in (listing, detail):
        found = money_values(response.json())
        assert found
        for key, value in found:
            assert value is None or isinstance(value, str), (key, value)
            if value is not None:
                assert Decimal(value).is_finite(), (key, value)

    rows = {row["tokenIn"]: row for row in listing.json()["results"]}
    assert rows["SOL"]["amountIn"] == "0.123456789"
    assert rows["BONK"]["amountIn"] == "399999999999.99999"
    confirmed = detail.json()
    assert isinstance(confirmed["amountIn"], str)
    assert confirmed["amountOut"] == "221.987654"
    assert confirmed["minAmountOut"] == "220.5"
    assert confirmed["executedPrice"] == "147.991769333"
    assert confirmed["events"][-1]["executedPrice"] == "147.991769333"
