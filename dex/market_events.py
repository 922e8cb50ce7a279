"""What operators did to the simulated market, layered over its seeded prices.

Prices stay a pure function of (seed, time) and of this list of events: ``move`` (from
its moment on, a token's price is some percent higher or lower on every DEX) and
``launch`` (a pool opens for a token that had none). The list lives in Redis, so every
process sees the same market.

Each event takes effect ``EFFECTIVE_DELAY_S`` after it is recorded, longer than any
process keeps its cached copy (``CACHE_S``). So no process ever prices a moment with a
different set of events than another: a fill computed now in one worker and a quote
computed earlier in another agree on what the market was at each instant.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import redis

EVENTS_KEY = "dex:market:events"
EFFECTIVE_DELAY_S = 0.25
CACHE_S = 0.1


@dataclass(frozen=True)
class PriceMove:
    symbol: str
    percent: Decimal
    at: float


@dataclass(frozen=True)
class PoolLaunch:
    symbol: str
    quote: str
    dex: str
    at: float


MarketEvent = PriceMove | PoolLaunch


def _event_from_json(raw: dict[str, Any]) -> MarketEvent:
    if raw["type"] == "move":
        return PriceMove(raw["symbol"], Decimal(raw["percent"]), float(raw["at"]))
    return PoolLaunch(raw["symbol"], raw["quote"], raw["dex"], float(raw["at"]))


def _event_to_json(event: MarketEvent) -> dict[str, Any]:
    if isinstance(event, PriceMove):
        return {
            "type": "move",
            "symbol": event.symbol,
            "percent": str(event.percent),
            "at": event.at,
        }
    return {
        "type": "launch",
        "symbol": event.symbol,
        "quote": event.quote,
        "dex": event.dex,
        "at": event.at,
    }


class MarketEvents:
    """The operators' events as one process sees them: read from Redis, cached briefly."""

    def __init__(self, events: list[MarketEvent] | None = None) -> None:
        self._events: tuple[MarketEvent, ...] = tuple(events or ())

    def snapshot(self) -> tuple[MarketEvent, ...]:
        return self._events

    def price_factor(self, symbol: str, t: float) -> Decimal:
        """How much the operators' moves in effect at ``t`` multiply ``symbol``'s price."""
        factor = Decimal(1)
        for event in self.snapshot():
            if isinstance(event, PriceMove) and event.symbol == symbol and event.at <= t:
                factor *= 1 + event.percent / 100
        return factor

    def launched(self, t: float) -> list[PoolLaunch]:
        """Pools opened by ``t``, oldest first."""
        return [e for e in self.snapshot() if isinstance(e, PoolLaunch) and e.at <= t]

    def launched_ever(self) -> list[PoolLaunch]:
        """Every recorded launch, including one about to take effect."""
        return [e for e in self.snapshot() if isinstance(e, PoolLaunch)]


class RedisMarketEvents(MarketEvents):
    """The shared list in Redis, re-read at most every ``CACHE_S`` seconds."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__()
        self.client = client
        self._loaded_at = -1.0
        self._lock = threading.Lock()

    def snapshot(self) -> tuple[MarketEvent, ...]:
        now = time.monotonic()
        if now - self._loaded_at >= CACHE_S:
            with self._lock:
                if now - self._loaded_at >= CACHE_S:
                    raw = cast(list[bytes], self.client.lrange(EVENTS_KEY, 0, -1))
                    self._events = tuple(_event_from_json(json.loads(item)) for item in raw)
                    self._loaded_at = time.monotonic()
        return self._events

    def record(self, event: MarketEvent) -> None:
        self.client.rpush(EVENTS_KEY, json.dumps(_event_to_json(event)))
        self._loaded_at = -1.0

    def clear(self) -> None:
        """Forget every operator event (tests and a fresh demo)."""
        self.client.delete(EVENTS_KEY)
        self._loaded_at = -1.0


def effective_time() -> float:
    """When an event recorded now takes effect (see the module docstring)."""
    return time.time() + EFFECTIVE_DELAY_S
