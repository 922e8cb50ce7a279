"""PostgreSQL and Redis for a session: given by DATABASE_URL / REDIS_URL, or embedded ones
under .run/ that this session starts and stops."""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from launcher.console import log, redact
from launcher.paths import RUN_DIR
from launcher.postgres import EmbeddedPostgres, ensure_database, start_embedded_postgres
from launcher.processes import signals_handled
from launcher.redis_server import EmbeddedRedis, start_embedded_redis, wait_for_redis

# How long to wait for an external PostgreSQL/Redis that may still be starting (Docker, CI).
SERVICE_WAIT_S = 15.0


class Services:
    """PostgreSQL and Redis for this session: given by URL, or embedded ones we own.

    ``database_url``/``redis_url`` given as "" start embedded servers even when the
    environment names others (the bench keeps its own); None reads the environment.
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        pg_dir: Path = RUN_DIR / "pg",
        redis_dir: Path = RUN_DIR / "redis",
        database: str = "engine",
    ) -> None:
        self._given_database_url = database_url
        self._given_redis_url = redis_url
        self.pg_dir = pg_dir
        self.redis_dir = redis_dir
        self.database = database
        self.database_url = ""
        self.redis_url = ""
        self.database_note = ""
        self.redis_note = ""
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self._stopped = False

    def start(self) -> None:
        """Make both services answer, starting embedded ones where no URL is given."""
        RUN_DIR.mkdir(exist_ok=True)
        database_url = _given(self._given_database_url, "DATABASE_URL")
        if database_url:
            ensure_database(database_url, SERVICE_WAIT_S)
            self.database_url = database_url
            self.database_note = f"external, DATABASE_URL={redact(database_url)}"
        else:
            self.postgres = start_embedded_postgres(data_dir=self.pg_dir, database=self.database)
            self.database_url, self.database_note = self.postgres.url, self.postgres.note
        redis_url = _given(self._given_redis_url, "REDIS_URL")
        if redis_url:
            wait_for_redis(redis_url, SERVICE_WAIT_S)
            self.redis_url = redis_url
            self.redis_note = f"external, REDIS_URL={redact(redis_url)}"
        else:
            self.redis = start_embedded_redis(data_dir=self.redis_dir)
            self.redis_url, self.redis_note = self.redis.url, self.redis.note

    def child_env(self) -> dict[str, str]:
        """The environment for everything we start: our URLs, unbuffered logs."""
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url
        env["REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        # No DJANGO_SETTINGS_MODULE here: manage.py, asgi.py and celery.py default it, and
        # in the environment it would override pytest's own (tests.settings).
        return env

    def dead(self) -> str | None:
        """Which embedded server has died under us, if any."""
        if self.redis is not None and (code := self.redis.exited()) is not None:
            return f"embedded redis-server exited with code {code}"
        if self.postgres is not None and not self.postgres.alive():
            return (
                f"embedded PostgreSQL (pid {self.postgres.pid}) is gone; see {self.pg_dir / 'log'}"
            )
        return None

    def stop(self) -> None:
        """Stop the embedded servers (idempotent; also registered with atexit)."""
        if self._stopped:
            return
        self._stopped = True
        # A second Ctrl-C must not abort pg_ctl stop half-way and leave a server behind.
        with signals_handled(lambda _signum, _frame: None):
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                try:
                    self.postgres.stop()
                except Exception as exc:  # best effort at exit: report, go on
                    log(f"could not stop embedded PostgreSQL cleanly: {exc!r}")


def _given(url: str | None, variable: str) -> str:
    return (os.environ.get(variable, "") if url is None else url).strip()


@contextlib.contextmanager
def services_running() -> Iterator[Services]:
    """Services that are stopped however we leave: return, exception, signal or atexit."""
    services = Services()
    atexit.register(services.stop)
    try:
        services.start()
        yield services
    finally:
        services.stop()
