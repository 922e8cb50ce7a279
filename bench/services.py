"""PostgreSQL and Redis for spawned engines, reusing ``scripts/stack.py``.

The bench keeps to a database of its own (``engine_bench``) so it can empty the tables
before each scenario: leftover unfinished orders would otherwise be picked up by the
start-up recovery sweep and run alongside the measured ones. Redis is a private
``redis-server`` unless one is given: the WebSocket stream group is global per Redis,
so a shared one would mix other engines' events (and CPU) into the figures.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent


def load_stack() -> ModuleType:
    """scripts/stack.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("engine_stack", ROOT / "scripts" / "stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_database(url: str, name: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class BenchServices:
    """The servers spawned engines share; ``close()`` stops the embedded ones.

    Without URLs both are private to the bench (PostgreSQL in .run/bench-pg, a
    redis-server on a free port logging to .run/bench-redis), so their CPU is the
    engine's alone.
    """

    def __init__(self, *, database_url: str, redis_url: str, database_name: str) -> None:
        self._stack = load_stack()
        # stack.py's embedded PostgreSQL, in a directory and database of our own.
        self._stack.PG_DIR = self._stack.RUN_DIR / "bench-pg"
        # Its own Redis directory too: `make run` may be going with its log in .run/redis.
        self._stack.REDIS_DIR = self._stack.RUN_DIR / "bench-redis"
        self._stack.DB_NAME = database_name
        self._services = self._stack.Services()
        # Empty values make stack.py start embedded servers (pgserver, redis-server).
        with _environ(DATABASE_URL=database_url, REDIS_URL=redis_url):
            self._services.start()
        self.private_database = not database_url
        self.private_redis = not redis_url
        self.database_name = database_name
        self.database_url = with_database(self._services.database_url, database_name)
        self.redis_url: str = self._services.redis_url
        self.database_note: str = self._services.database_note
        self.redis_note: str = self._services.redis_note
        try:
            self._stack._ensure_database(self.database_url, 15.0)
        except BaseException:
            self._services.stop()  # not left running: close() is never reached
            raise
        # Children die with us even if we are SIGKILLed (prctl PDEATHSIG).
        self.die_with_parent = self._stack._die_with_parent

    def migrate(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}
        env["DJANGO_SETTINGS_MODULE"] = "engine_project.settings"
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
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
