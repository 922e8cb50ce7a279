"""The DEX side of execution as one object: venues to quote and a network to send to.

Built once per process from settings; tests build their own with other knobs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import redis
from django.conf import settings

from dex.market import Market
from dex.market_events import RedisMarketEvents
from dex.network import MockNetwork, resolve_seed
from dex.smart_router import HUBS
from dex.venues import SimulatedDex, build_venues, pair_has_pool, token_trades


@dataclass(frozen=True)
class DexGateway:
    venues: dict[str, SimulatedDex]
    network: MockNetwork
    # The operators' moves and launches, shared through Redis (manage.py market).
    market_events: RedisMarketEvents

    def has_pool(self, token_in: str, token_out: str) -> bool:
        """A pool for the pair on some DEX now, launched ones included."""
        return pair_has_pool(token_in, token_out, venues=self.venues)

    def has_route(self, token_in: str, token_out: str) -> bool:
        """A pool for the pair, or a pair of pools through SOL or USDC (smart routing)."""
        if self.has_pool(token_in, token_out):
            return True
        return any(
            hub not in (token_in, token_out)
            and self.has_pool(token_in, hub)
            and self.has_pool(hub, token_out)
            for hub in HUBS
        )

    def trades(self, symbol: str) -> bool:
        return token_trades(symbol, venues=self.venues)

    @classmethod
    def build(
        cls,
        *,
        client: redis.Redis,
        seed: int | None = None,
        quote_latency_s: float | None = None,
        execute_latency_s: tuple[float, float] | None = None,
        failure_rate: float | None = None,
    ) -> DexGateway:
        seed = resolve_seed(client, settings.DEX_SEED if seed is None else seed)
        latency_ms = settings.DEX_EXECUTE_LATENCY_MS
        market_events = RedisMarketEvents(client)
        venues = build_venues(
            market=Market(seed, events=market_events),
            quote_latency_s=(
                settings.DEX_QUOTE_LATENCY_MS / 1000 if quote_latency_s is None else quote_latency_s
            ),
        )
        network = MockNetwork(
            client=client,
            seed=seed,
            venues=venues,
            failure_rate=settings.DEX_FAILURE_RATE if failure_rate is None else failure_rate,
            execute_latency_s=(
                (latency_ms[0] / 1000, latency_ms[1] / 1000)
                if execute_latency_s is None
                else execute_latency_s
            ),
            blockhash_ttl_s=settings.DEX_BLOCKHASH_TTL_S,
        )
        return cls(venues=venues, network=network, market_events=market_events)


_gateway: tuple[int, DexGateway] | None = None


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
    )


def default_gateway() -> DexGateway:
    global _gateway
    if _gateway is None or _gateway[0] != os.getpid():
        _gateway = (os.getpid(), DexGateway.build(client=redis_client()))
    return _gateway[1]
