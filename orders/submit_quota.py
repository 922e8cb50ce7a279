"""The per-client order quota (``ORDER_SUBMIT_RATE``), shared by every door that places orders.

The HTTP POST and the execute WebSocket both create orders, so both take from one count
per client: a client over its quota on one door cannot carry on through the other. A
fixed window counted with one INCR in Redis, so every web process shares the limit.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import cast

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_client: redis.Redis | None = None
_client_lock = threading.Lock()


def _redis() -> redis.Redis:
    """One client (one pool) per process, built once even when requests race for it.

    Two clients built at once would leave one unreferenced, and its finaliser closes
    the pool under the request that is still using it.
    """
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
                )
    return _client


def parse_rate(rate: str) -> tuple[int, int]:
    """``"6000/min"`` -> (6000, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period]


def submit_quota_take(*, client: str) -> float | None:
    """Count one order submission for ``client``.

    Returns None when it is within the quota, else the seconds until the window resets.
    If Redis cannot be reached the submission is allowed: the quota guards the engine,
    it must not stop trading.
    """
    return quota_take(counter="order_submit", client=client, rate=settings.ORDER_SUBMIT_RATE)


def quota_take(*, counter: str, client: str, rate: str) -> float | None:
    """Count one request on ``counter`` for ``client`` against ``rate`` (fixed window)."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"engine:throttle:{counter}:{client}:{window}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, period + 1)
        count = cast(int, pipe.execute()[0])
    except Exception:
        logger.warning("%s quota unavailable; letting the request through", counter, exc_info=True)
        return None
    if count <= limit:
        return None
    return (window + 1) * period - now
