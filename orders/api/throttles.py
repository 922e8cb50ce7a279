"""Per-client limit on order submission, counted in the shared Redis cache."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class OrderSubmitThrottle(SimpleRateThrottle):
    scope = "order_submit"

    def get_rate(self) -> str:
        return str(settings.ORDER_SUBMIT_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            # A cache outage must not stop trading; the limit is a guard, not a gate.
            logger.warning("order throttle unavailable; letting the request through", exc_info=True)
            return True
