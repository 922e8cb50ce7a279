"""ASGI entry point for daphne: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from engine_project.api_handler import ApiASGIHandler, split_api  # noqa: E402
from engine_project.daphne_options import (  # noqa: E402
    cheap_connection_debug,
    patient_close_handshake,
)
from engine_project.origins import engine_origin_validator  # noqa: E402
from engine_project.proxy import TrustedProxyMiddleware  # noqa: E402
from orders.routing import websocket_urlpatterns  # noqa: E402

patient_close_handshake()
cheap_connection_debug()

# One client identity for both doors: per-client limits cannot be dodged through either.
application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            # daphne is the only web server: it serves the admin's and page's static files.
            # The API skips the page's and admin's middleware (engine_project/api_handler.py).
            "http": split_api(ApiASGIHandler(), ASGIStaticFilesHandler(django_asgi_app)),
            "websocket": engine_origin_validator(URLRouter(websocket_urlpatterns)),
        }
    ),
    num_proxies=settings.ENGINE_NUM_PROXIES,
)
