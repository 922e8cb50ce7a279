"""Health endpoints for orchestrators: can the engine take orders, can this web process
serve, and is it alive.

``/healthz`` needs live workers: a platform that restarted web processes on it would
restart healthy ones during a worker outage. The platform's health check is ``/readyz``,
which asks only for what this process itself needs.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health: database check failed", exc_info=True)
        return False


def _redis_ok() -> bool:
    # Building the client is inside the try: a malformed REDIS_URL is "redis down" (503),
    # not an error page (500).
    client: redis.Redis | None = None
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        return bool(client.ping())
    except Exception:
        logger.warning("health: redis check failed", exc_info=True)
        return False
    finally:
        if client is not None:
            client.close()


def _live_workers() -> int:
    from engine_project.celery import app

    try:
        replies = app.control.ping(timeout=0.5) or []
    except Exception:
        logger.warning("health: worker ping failed", exc_info=True)
        return 0
    return len(replies)


def _answer(body: dict[str, object], checks: dict[str, bool]) -> JsonResponse:
    down = [name for name, ok in checks.items() if not ok]
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)


def healthz(request: HttpRequest) -> JsonResponse:
    """Can the engine take orders: database, Redis and at least one live worker."""
    database = _database_ok()
    redis_up = _redis_ok()
    workers = _live_workers() if redis_up else 0
    body: dict[str, object] = {
        "database": "ok" if database else "down",
        "redis": "ok" if redis_up else "down",
        "workers": workers,
    }
    return _answer(body, {"database": database, "redis": redis_up, "workers": workers > 0})


def readyz(request: HttpRequest) -> JsonResponse:
    """Can this web process serve: it reaches PostgreSQL and Redis. Workers are not asked."""
    database = _database_ok()
    redis_up = _redis_ok()
    body: dict[str, object] = {
        "database": "ok" if database else "down",
        "redis": "ok" if redis_up else "down",
    }
    return _answer(body, {"database": database, "redis": redis_up})


def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
