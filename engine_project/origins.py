"""WebSocket origin policy from the contract.

A browser always sends ``Origin``; refusing foreign ones stops a hostile page from
driving a user's session. Bots and scripts send none and cannot be driven by a page, so
a missing header is accepted (Channels' stock validator refuses it).
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings


class EngineOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def engine_origin_validator(application: Any) -> EngineOriginValidator:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return EngineOriginValidator(application, allowed)
