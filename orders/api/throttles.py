"""Per-client limit on order submission: a fixed window counted in Redis.

DRF's stock throttle keeps every request's timestamp in one cached list per client and
rewrites it on each request (6,000 entries at 6000/min), through a cache object that
Django builds anew in every ASGI request thread. One INCR on a shared connection pool
does the same job.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, cast

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

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


class OrderSubmitThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        limit, period = parse_rate(settings.ORDER_SUBMIT_RATE)
        now = time.time()
        window = int(now // period)
        key = f"engine:throttle:order_submit:{self.get_ident(request)}:{window}"
        try:
            pipe = _redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, period + 1)
            count = cast(int, pipe.execute()[0])
        except Exception:
            # A Redis outage must not stop trading; the limit is a guard, not a gate.
            logger.warning("order throttle unavailable; letting the request through", exc_info=True)
            return True
        if count <= limit:
            return True
        self.retry_after = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return math.ceil(self.retry_after) if self.retry_after is not None else None
