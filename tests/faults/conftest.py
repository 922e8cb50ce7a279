"""Fixtures for the fault tests: private Redis, PostgreSQL proxy, engine processes.

Each test gets its own redis-server (so killing it, or the stream of every order's
events, touches nobody else) and its own Celery queue; all processes run in their own
process groups and are stopped in ``finally`` blocks whatever the test did to them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.e2e.conftest import test_database_url as database_url
from tests.faults.harness import Cluster, RedisServer, TcpProxy


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: kills, restarts and starves real engine processes (docs/RELIABILITY.md)",
    )


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
def redis_server(logs: Path) -> Iterator[RedisServer]:
    server = RedisServer(logs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_proxy() -> Iterator[TcpProxy]:
    settings_dict = connection.settings_dict
    host = settings_dict.get("HOST") or "/var/run/postgresql"  # libpq's default: a socket
    port = int(settings_dict.get("PORT") or 5432)
    proxy = TcpProxy(f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port))
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()


@pytest.fixture
def cluster(
    transactional_db: Any, redis_server: RedisServer, logs: Path, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    """Engine processes on the test database and the private Redis; stopped at the end.

    Depends on ``transactional_db``, so the processes stop before the tables are flushed.
    """
    engine = Cluster(
        logs=logs,
        database_url=database_url(),
        redis_url=redis_server.url,
        queue=f"faults-{os.getpid()}-{uuid.uuid4().hex[:8]}",
    )
    try:
        yield engine
    finally:
        engine.stop()
        connection.close()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(engine.tails())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
