"""`manage.py market move|launch`: what they print, what they refuse, what every process sees."""

from __future__ import annotations

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from dex.market import Market
from dex.market_events import EFFECTIVE_DELAY_S, RedisMarketEvents

T_SETTLE = EFFECTIVE_DELAY_S + 0.15


def run(*args: str) -> str:
    out = StringIO()
    call_command("market", *args, stdout=out)
    return out.getvalue()


def test_move_prints_what_changed_and_every_process_prices_it(redis_client):
    before = Market(7, events=RedisMarketEvents(redis_client)).usd_price("SOL", time.time())
    said = run("move", "SOL", "5")
    assert said.startswith("SOL +5% on raydium, meteora from ")
    time.sleep(T_SETTLE)
    # Another "process": its own reader of the same Redis list.
    other = Market(7, events=RedisMarketEvents(redis_client))
    now = time.time()
    plain = Market(7).usd_price("SOL", now)
    assert other.usd_price("SOL", now) == plain * Decimal("1.05")
    assert other.usd_price("SOL", now) > before


def test_a_move_is_not_applied_to_moments_before_it(redis_client):
    earlier = time.time()
    run("move", "BONK", "-50")
    time.sleep(T_SETTLE)
    market = Market(7, events=RedisMarketEvents(redis_client))
    assert market.usd_price("BONK", earlier) == Market(7).usd_price("BONK", earlier)


def test_negative_moves_are_taken_as_numbers():
    assert run("move", "SOL", "-3.5").startswith("SOL -3.5% on")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("move", "DOGE", "5"), "unknown token 'DOGE'"),
        (("move", "SOL", "abc"), "percent must be a number"),
        (("move", "SOL", "-100"), "above -100"),
        (("move", "SOL", "0"), "not 0"),
        (("move", "SOL", "NaN"), "above -100"),
        (("launch", "SOL"), "SOL already trades"),
        (("launch", "DOGE"), "unknown token"),
        (("launch", "NOVA", "--quote", "ZAP"), "ZAP has no pool itself"),
        (("launch", "NOVA", "--quote", "NOVA"), "two different tokens"),
    ],
)
def test_bad_requests_exit_non_zero_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.django_db
def test_launch_opens_a_pool_once_and_the_token_trades(api):
    listed = {t["symbol"]: t["trading"] for t in api.get("/api/tokens").json()}
    assert listed["ZAP"] is False
    said = run("launch", "ZAP", "--dex", "meteora", "--quote", "SOL")
    assert said.startswith("ZAP/SOL pool opened on meteora from ")
    with pytest.raises(CommandError, match="already trades"):
        run("launch", "ZAP")
    time.sleep(T_SETTLE)
    listed = {t["symbol"]: t["trading"] for t in api.get("/api/tokens").json()}
    assert listed["ZAP"] is True
    quote = api.get("/api/quote", {"tokenIn": "SOL", "tokenOut": "ZAP", "amount": "1"})
    assert quote.status_code == 200, quote.content
    assert quote.json()["quotes"]["meteora"]["pool"] == "meteora:ZAP/SOL"


@pytest.fixture
def client() -> APIClient:
    api = APIClient()
    api.raise_request_exception = False
    return api


def test_the_page_controls_move_and_launch_over_http(client):
    moved = client.post("/api/market/move", {"symbol": "sol", "percent": "2.5"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["changed"].startswith("SOL +2.5% on")
    bad = client.post("/api/market/move", {"symbol": "SOL", "percent": 5}, format="json")
    assert bad.status_code == 400 and "percent" in bad.json()["errors"]  # a string, as typed
    extra = client.post(
        "/api/market/move", {"symbol": "SOL", "percent": "1", "by": "me"}, format="json"
    )
    assert extra.status_code == 400 and "by" in extra.json()["errors"]
    unknown = client.post("/api/market/launch", {"symbol": "DOGE"}, format="json")
    assert unknown.status_code == 400 and "symbol" in unknown.json()["errors"]
    launched = client.post(
        "/api/market/launch", {"symbol": "MOON", "dex": "meteora"}, format="json"
    )
    assert launched.status_code == 200, launched.content
    again = client.post("/api/market/launch", {"symbol": "MOON"}, format="json")
    assert again.status_code == 400 and "already trades" in again.json()["errors"]["symbol"][0]


def test_market_controls_can_be_turned_off(client, settings):
    settings.MARKET_CONTROLS = False
    refused = client.post("/api/market/move", {"symbol": "SOL", "percent": "5"}, format="json")
    assert refused.status_code == 403
    assert "ENGINE_MARKET_CONTROLS" in refused.json()["error"]
    page = client.get("/")
    assert b'id="market-panel"' not in page.content
    settings.MARKET_CONTROLS = True
    assert b'id="market-panel"' in client.get("/").content
