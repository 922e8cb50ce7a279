"""Django for ``/api/``: the same views, without the page's and admin's middleware.

Under ASGI every one of Django's bundled middleware runs its ``process_request`` and
``process_response`` in a thread hop (``MiddlewareMixin.__acall__``): seven of them cost
daphne a eighth of its time per order (py-spy, docs/PERFORMANCE.md). The API needs none
of sessions, authentication, messages or CSRF (DRF authenticates nobody and keeps no
session), so its requests go through a handler whose middleware applies the security headers
and HTTPS redirect inline, with Django's own code, on the event loop, and queues each
request for a database slot before its view takes a thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from engine_project.db_slots import DatabaseBusyError, database_slot
from orders.api.errors import DATABASE_RETRY_AFTER_S

GetResponse = Callable[[HttpRequest], Awaitable[HttpResponse]]


class DatabaseSlotMiddleware:
    """Each API request waits for a database slot (``engine_project.db_slots``) before
    its view gets a thread; one that waited too long is a 503 to retry."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            async with database_slot():
                return await self.get_response(request)
        except DatabaseBusyError:
            return JsonResponse(
                {"errors": {"database": [BUSY_MESSAGE]}},
                status=503,
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
            )


class InlineSecurityMiddleware:
    """SecurityMiddleware and XFrameOptionsMiddleware, called without a thread hop.

    Both only read settings and set headers: nothing in them blocks.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        if not iscoroutinefunction(get_response):
            raise TypeError("InlineSecurityMiddleware needs an async handler")
        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        redirect = self.security.process_request(request)
        if redirect is not None:
            return self.security.process_response(request, redirect)
        response = await self.get_response(request)
        response = self.security.process_response(request, response)
        return self.frame_options.process_response(request, response)


API_MIDDLEWARE = [
    "engine_project.api_handler.InlineSecurityMiddleware",
    "engine_project.api_handler.DatabaseSlotMiddleware",
]
BUSY_MESSAGE = "busy; retry shortly with the same Idempotency-Key"


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler with ``API_MIDDLEWARE`` instead of ``settings.MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings, once, here (at start-up, single-threaded).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


AsgiApp = Callable[..., Awaitable[None]]


def split_api(api: ASGIHandler, rest: AsgiApp) -> AsgiApp:
    """HTTP requests under ``/api/`` to ``api``, everything else to ``rest``."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await api(scope, receive, send)
        else:
            await rest(scope, receive, send)

    return app
