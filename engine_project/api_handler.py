"""Django for ``/api/``: the same views, without the page's and admin's middleware.

Under ASGI every one of Django's bundled middleware runs its ``process_request`` and
``process_response`` in a thread hop (``MiddlewareMixin.__acall__``): seven of them cost
daphne a eighth of its time per order (py-spy, docs/PERFORMANCE.md). The API needs none
of sessions, authentication, messages or CSRF (DRF authenticates nobody and keeps no
session), so its requests go through a handler whose middleware applies the security headers
and HTTPS redirect inline, with Django's own code, on the event loop, and queues each
request for a database slot before its view runs on that slot's thread.

Django starts a thread for every request otherwise (its ``ThreadSensitiveContext``):
here a request's view runs on its database slot's thread, and the few calls before and
after it (the request signals, closing the response) on one thread the API shares.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from asgiref.sync import (
    ThreadSensitiveContext,
    iscoroutinefunction,
    markcoroutinefunction,
    sync_to_async,
)
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from engine_project.db_slots import DatabaseBusyError, database_slot
from orders.api.errors import DATABASE_RETRY_AFTER_S

GetResponse = Callable[[HttpRequest], Awaitable[HttpResponse]]


class DatabaseSlotMiddleware:
    """Each API request waits for a database slot (``engine_project.db_slots``), then its
    view runs on the slot's thread; one that waited too long is a 503 to retry."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            async with database_slot() as slot, ThreadSensitiveContext(executor=slot.executor):
                try:
                    return await self.get_response(request)
                finally:
                    # On the slot's thread, whose connection it is: back to the pool
                    # before the next holder's request (Django would close it later,
                    # from another thread, which is not this connection's).
                    await _close_old_connections()
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


_close_old_connections = sync_to_async(close_old_connections, thread_sensitive=True)


@cache
def _edges_executor() -> ThreadPoolExecutor:
    """The thread for what Django runs around a view: request signals, closing the
    response. None of it touches the database (the view's slot returned its connection)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-edges")


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

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Django's, on shared threads instead of a new thread per request (without
        database slots, i.e. no pool, Django's thread per request stays)."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}")
        edges = _edges_executor() if settings.DATABASE_POOL_SIZE else None
        async with ThreadSensitiveContext(executor=edges):
            await self.handle(scope, receive, send)


AsgiApp = Callable[..., Awaitable[None]]


def split_api(api: ASGIHandler, rest: AsgiApp) -> AsgiApp:
    """HTTP requests under ``/api/`` to ``api``, everything else to ``rest``."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await api(scope, receive, send)
        else:
            await rest(scope, receive, send)

    return app
