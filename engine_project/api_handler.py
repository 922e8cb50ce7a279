"""Django for ``/api/``: the same views, without the page's and admin's middleware, in one
thread hop per request.

Django's async handler crosses from the event loop to a thread four times per request
(the request signals, the view, returning the view's connection, closing the response),
and under ASGI each of its bundled middleware adds two more (``MiddlewareMixin.__acall__``).
The API needs none of sessions, authentication, messages or CSRF (DRF authenticates
nobody and keeps no session). So a request here reads its body on the loop, waits on the
loop for a database slot (``engine_project.db_slots``), then runs as Django runs it under
WSGI, on the slot's thread and in one go: the request signals, the security headers
(Django's own middleware), the view, closing the response, which gives the slot's
connection back to the pool before the next holder's request. The response is sent from
the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix

from engine_project.db_slots import DatabaseBusyError, database_slot
from orders.api.errors import DATABASE_RETRY_AFTER_S

API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
BUSY_MESSAGE = "busy; retry shortly with the same Idempotency-Key"


def _busy_response(_request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {"errors": {"database": [BUSY_MESSAGE]}},
        status=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler with ``API_MIDDLEWARE`` and one hop to the request's slot."""

    def __init__(self) -> None:
        super().__init__()
        # For a request that gets no slot, answered on the loop.
        self._security = SecurityMiddleware(_busy_response)
        self._frame_options = XFrameOptionsMiddleware(_busy_response)

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings, once, here (at start-up, single-threaded).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = API_MIDDLEWARE
        try:
            super().load_middleware(is_async=False)  # the chain runs on the slot's thread
        finally:
            settings.MIDDLEWARE = full

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            try:
                # Without slots (no connection pool) asgiref starts a thread per request.
                async with database_slot() as slot, ThreadSensitiveContext(executor=slot.executor):
                    response, content = await sync_to_async(self._respond, thread_sensitive=True)(
                        scope, body_file
                    )
            except DatabaseBusyError:
                response, content = self._respond_busy(scope, body_file)
        finally:
            body_file.close()
        await _send(response, content, send)

    def _respond(self, scope: dict, body_file: Any) -> tuple[HttpResponseBase, bytes]:
        """What Django's WSGI handler does for a request, on the slot's thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = self._response(scope, body_file, self.get_response)
        try:
            content = _content(response)
        finally:
            response.close()  # request_finished: the connection goes back to the pool
        return response, content

    def _respond_busy(self, scope: dict, body_file: Any) -> tuple[HttpResponseBase, bytes]:
        response = self._response(scope, body_file, self._busy_with_headers)
        return response, _content(response)

    def _response(
        self, scope: dict, body_file: Any, respond: Callable[[HttpRequest], HttpResponseBase]
    ) -> HttpResponseBase:
        request, error = self.create_request(scope, body_file)
        if request is None:
            assert error is not None
            return error
        return respond(request)

    def _busy_with_headers(self, request: HttpRequest) -> HttpResponseBase:
        """503 to retry, with the headers the middleware chain would have added."""
        response = self._security.process_request(request) or _busy_response(request)
        response = self._security.process_response(request, response)
        return self._frame_options.process_response(request, response)


def _content(response: HttpResponseBase) -> bytes:
    if isinstance(response, HttpResponse):
        return response.content
    return b"".join(cast("Iterable[bytes]", response))  # a streaming response


async def _send(response: HttpResponseBase, content: bytes, send: Callable) -> None:
    headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
    headers += [
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})


AsgiApp = Callable[..., Awaitable[None]]


def split_api(api: ASGIHandler, rest: AsgiApp) -> AsgiApp:
    """HTTP requests under ``/api/`` to ``api``, everything else to ``rest``."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await api(scope, receive, send)
        else:
            await rest(scope, receive, send)

    return app
