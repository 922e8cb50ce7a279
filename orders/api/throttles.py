"""The order quota as a DRF throttle: 429 with Retry-After on the HTTP door.

DRF's stock throttle keeps every request's timestamp in one cached list per client and
rewrites it on each request; ``orders.submit_quota`` does the same job with one INCR and
is shared with the execute WebSocket.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework.throttling import BaseThrottle

from orders.submit_quota import submit_quota_take


class OrderSubmitThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        # REMOTE_ADDR is settled by engine_project.proxy: never a client-set header.
        client = str(request.META.get("REMOTE_ADDR") or "unknown")
        self.retry_after = submit_quota_take(client=client)
        return self.retry_after is None

    def wait(self) -> float | None:
        return math.ceil(self.retry_after) if self.retry_after is not None else None
