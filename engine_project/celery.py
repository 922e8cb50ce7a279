"""The Celery application: settings come from Django's (``CELERY_`` prefix)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
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
