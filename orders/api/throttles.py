"""The order quota as a DRF throttle: 429 with Retry-After on the HTTP door.

DRF's stock throttle keeps every request's timestamp in one cached list per client and
rewrites it on each request; ``orders.submit_quota`` does the same job with one INCR and
is shared with the execute WebSocket.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from orders.submit_quota import quota_take, submit_quota_take


def _client(request: Any) -> str:
    # REMOTE_ADDR is settled by engine_project.proxy: never a client-set header.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


class OrderSubmitThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.retry_after = submit_quota_take(client=_client(request))
        return self.retry_after is None

    def wait(self) -> float | None:
        return math.ceil(self.retry_after) if self.retry_after is not None else None


class QuoteThrottle(OrderSubmitThrottle):
    """Quotes hold a thread for the DEXes' latency: counted at the order rate, apart."""

    def allow_request(self, request: Any, view: Any) -> bool:
        self.retry_after = quota_take(
            counter="quote", client=_client(request), rate=settings.ORDER_SUBMIT_RATE
        )
        return self.retry_after is None


class MarketControlThrottle(OrderSubmitThrottle):
    """The market controls, counted at the order rate on their own counter."""

    def allow_request(self, request: Any, view: Any) -> bool:
        self.retry_after = quota_take(
            counter="market", client=_client(request), rate=settings.ORDER_SUBMIT_RATE
        )
        return self.retry_after is None
