"""API errors as JSON, in two shapes that clients rely on (docs/API.md, "Errors"):

- ``{"errors": {"<field>": ["<message>", ...]}}`` for whatever the request can fix:
  validation (400), the Idempotency-Key (409), the body (413, 415), the quota (429,
  field ``rate``) and an unreachable database (503, field ``database``);
- ``{"error": "<message>"}`` for the rest: an unknown order (404), a wrong method (405)
  and other DRF errors, the same shape the WebSocket doors send before they close.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from orders.api.parsers import PayloadTooLarge


def _as_field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {
            str(key): value if isinstance(value, list | dict) else [value]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


# Seconds a client is asked to wait when PostgreSQL cannot be reached.
DATABASE_RETRY_AFTER_S = 5


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _as_field_errors(exc.detail)}
    elif isinstance(exc, exceptions.ParseError | PayloadTooLarge):
        response.data = {"errors": {"body": [str(exc.detail)]}}
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        response.data = {"errors": {"Content-Type": [str(exc.detail)]}}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {
            "errors": {
                "rate": [f"too many orders; retry in {getattr(exc, 'wait', None) or 1:.0f} s"]
            },
        }
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = {"error": str(detail or exc)}
    return response


def conflict(message: str, *, field: str) -> Response:
    return Response({"errors": {field: [message]}}, status=status.HTTP_409_CONFLICT)


def database_unavailable() -> Response:
    """PostgreSQL unreachable (or the pool exhausted): a 503 an API client can act on.

    Not Django's HTML 500 page. The request can be repeated once the database answers
    again; with the same ``Idempotency-Key`` that never places an order twice.
    """
    set_rollback()
    message = "unavailable; retry shortly with the same Idempotency-Key"
    return Response(
        {"errors": {"database": [message]}},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )
