"""Health endpoints for orchestrators: can the engine take orders, and is it alive."""

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
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        return bool(client.ping())
    except Exception:
        logger.warning("health: redis check failed", exc_info=True)
        return False
    finally:
        client.close()


def _live_workers() -> int:
    from engine_project.celery import app

    try:
        replies = app.control.ping(timeout=0.5) or []
    except Exception:
        logger.warning("health: worker ping failed", exc_info=True)
        return 0
    return len(replies)


def healthz(request: HttpRequest) -> JsonResponse:
    database = _database_ok()
    redis_up = _redis_ok()
    workers = _live_workers() if redis_up else 0
    body: dict[str, object] = {
        "database": "ok" if database else "down",
        "redis": "ok" if redis_up else "down",
        "workers": workers,
    }
    down = [
        name
        for name, ok in (("database", database), ("redis", redis_up), ("workers", workers > 0))
        if not ok
    ]
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)


def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
