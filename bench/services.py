"""PostgreSQL and Redis for spawned engines, from the launcher (``launcher.services``).

The bench keeps to a database of its own (``engine_bench``) so it can empty the tables
before each scenario: leftover unfinished orders would otherwise be picked up by the
start-up recovery sweep and run alongside the measured ones. Redis is a private
``redis-server`` unless one is given: the WebSocket stream group is global per Redis,
so a shared one would mix other engines' events (and CPU) into the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from launcher.paths import MANAGE_PY, ROOT, RUN_DIR
from launcher.postgres import ensure_database
from launcher.services import Services


def with_database(url: str, name: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class BenchServices:
    """The servers spawned engines share; ``close()`` stops the embedded ones.

    Without URLs both are private to the bench (PostgreSQL in .run/bench-pg, a
    redis-server on a free port logging to .run/bench-redis), so their CPU is the
    engine's alone.
    """

    def __init__(self, *, database_url: str, redis_url: str, database_name: str) -> None:
        # Empty URLs start embedded servers, in directories and a database of our own:
        # `make run` may be going with its data in .run/pg and .run/redis.
        self._services = Services(
            database_url=database_url,
            redis_url=redis_url,
            pg_dir=RUN_DIR / "bench-pg",
            redis_dir=RUN_DIR / "bench-redis",
            database=database_name,
        )
        self._services.start()
        self.private_database = not database_url
        self.private_redis = not redis_url
        self.database_name = database_name
        self.database_url = with_database(self._services.database_url, database_name)
        self.redis_url: str = self._services.redis_url
        self.database_note: str = self._services.database_note
        self.redis_note: str = self._services.redis_note
        try:
            ensure_database(self.database_url, 15.0)
        except BaseException:
            self._services.stop()  # not left running: close() is never reached
            raise

    def migrate(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}
        env["DJANGO_SETTINGS_MODULE"] = "engine_project.settings"
        subprocess.run(
            [sys.executable, str(MANAGE_PY), "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=ROOT,
            check=True,
        )

    def reset(self) -> None:
        """Empty the bench tables and, if Redis is ours, Redis: each run starts alike."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE order_events, orders RESTART IDENTITY")
        if self.private_redis:
            client = redis.Redis.from_url(self.redis_url)
            client.flushdb()
            client.close()

    def close(self) -> None:
        self._services.stop()


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's main process, if it runs on this machine.

    Its reaped-children CPU includes backends that came and went during the run (Django
    under ASGI and Celery's per-task close open a connection per request or task).
    """
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        try:  # while the backend still exists
            with open(f"/proc/{row[0] if row else 0}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            return None  # a server on another machine
    return int(raw[raw.rindex(b")") + 2 :].split()[1])


def redis_cpu_seconds(redis_url: str) -> float:
    """CPU seconds the Redis server has used since it started (INFO cpu)."""
    client = redis.Redis.from_url(redis_url)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
