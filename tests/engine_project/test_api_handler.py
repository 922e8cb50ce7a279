"""``/api/`` through the ASGI application: its own lean middleware, the same headers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import connection

from engine_project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_leftover_connections() -> Iterator[None]:
    """Django ran each view in a thread of its own, which kept its connection open."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def request(method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def exchange() -> tuple[int, dict[str, str], bytes]:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body})
        start = await communicator.receive_output(10)
        chunks = []
        while True:
            message = await communicator.receive_output(10)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], headers, b"".join(chunks)

    return asyncio.run(exchange())


def test_an_order_posted_through_asgi_is_stored_with_the_security_headers():
    status, headers, body = request(
        "POST", "/api/orders/execute", b'{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}'
    )
    assert status == 201, body
    assert json.loads(body)["status"] == "pending"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    # No session or CSRF machinery on the API.
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()


def test_a_bad_body_through_asgi_is_a_400_naming_the_field():
    status, _, body = request("POST", "/api/orders/execute", b'{"tokenIn": "SOL"}')
    assert status == 400
    assert {"tokenOut", "amount"} <= set(json.loads(body)["errors"])


def test_pages_outside_the_api_keep_the_full_middleware():
    status, headers, _ = request("GET", "/admin/login/")
    assert status == 200
    assert "csrftoken" in headers.get("set-cookie", "")
    assert headers["x-frame-options"] == "DENY"


def _thread_names_of_views(monkeypatch, calls: int) -> list[str]:
    from orders import selectors

    seen: list[str] = []
    stats = selectors.order_stats

    def recorded(**kwargs):
        seen.append(threading.current_thread().name)
        return stats(**kwargs)

    monkeypatch.setattr(selectors, "order_stats", recorded)
    for _ in range(calls):
        status, _, body = request("GET", "/api/orders/stats")
        assert status == 200, body
    return seen


def test_an_api_view_runs_on_its_database_slots_thread_not_a_new_one(monkeypatch, settings):
    settings.DATABASE_POOL_SIZE = 4
    names = _thread_names_of_views(monkeypatch, calls=3)
    assert all(name.startswith("db-slot-") for name in names), names


def test_without_slots_django_keeps_its_thread_per_request(monkeypatch, settings):
    settings.DATABASE_POOL_SIZE = 0
    names = _thread_names_of_views(monkeypatch, calls=2)
    assert not any(name.startswith("db-slot-") for name in names), names


def test_a_body_over_the_limit_through_asgi_is_refused_and_nothing_is_stored(settings):
    from orders.models import Order

    body = b'{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "pad": "%s"}' % (
        b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    )
    status, headers, _ = request("POST", "/api/orders/execute", body)
    assert status == 413
    assert headers["x-frame-options"] == "DENY"
    assert not Order.objects.exists()
