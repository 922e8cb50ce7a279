"""The Celery application: settings come from Django's (``CELERY_`` prefix)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_project.settings")

app = Celery("engine_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_postrun.connect
def return_connections_to_pool(**_: Any) -> None:
    """Give the task's database connection back to the process's pool.

    ``CELERY_DB_REUSE_MAX`` stops Celery's Django fix-up from closing the connection
    around every task, which with a pool in a prefork child means the whole pool
    (threads and all) and a new PostgreSQL backend per task. Returning the connection
    instead keeps the pool, and its health check on checkout replaces a connection
    that a database restart broke.
    """
    connections.close_all()


@signals.celeryd_after_setup.connect
def pool_for_every_order_thread(*, instance: Any, **_: Any) -> None:
    """Give the process's database pool a connection for each of the worker's threads.

    With the thread pool the worker's orders share one process's pool, and each holds a
    connection from its first query to the end of its task, DEX waits included. With
    fewer connections than threads (``--concurrency 12``, ``DATABASE_POOL_SIZE=2``) 2 of 12
    orders were confirmed within 25 s, the others' tasks failing the pool's 5 s timeout
    (with this: 12 of 12, no timeout). Runs before any task, so before the pool exists;
    prefork children each have a pool of their own anyway.
    """
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict):
        pool["max_size"] = max(pool["max_size"], instance.concurrency)
