"""Database slots: a burst waits on the loop for its turn instead of failing on the pool."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from engine_project import db_slots
from engine_project.db_slots import DatabaseBusyError, database_slot


def test_at_most_pool_size_hold_a_slot_and_the_rest_wait_their_turn(settings):
    settings.DATABASE_POOL_SIZE = 2

    async def scenario() -> tuple[int, int]:
        inside = peak = 0

        async def user() -> None:
            nonlocal inside, peak
            async with database_slot():
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(user() for _ in range(20)))
        return peak, inside

    assert asyncio.run(scenario()) == (2, 0)


def test_a_caller_that_waits_too_long_is_told_busy(settings, monkeypatch):
    settings.DATABASE_POOL_SIZE = 1
    monkeypatch.setattr(db_slots, "MAX_WAIT_S", 0.05)

    async def scenario() -> None:
        async with database_slot():
            with pytest.raises(DatabaseBusyError, match="no database slot within"):
                async with database_slot():
                    pass
        async with database_slot():  # the slot was given back, the waiter left
            pass

    asyncio.run(scenario())


def test_past_the_waiting_limit_a_caller_is_refused_at_once(settings, monkeypatch):
    settings.DATABASE_POOL_SIZE = 1
    monkeypatch.setattr(db_slots, "MAX_WAITING", 3)

    async def scenario() -> int:
        refused = 0
        release = asyncio.Event()

        async def holder() -> None:
            async with database_slot():
                await release.wait()

        async def waiter() -> None:
            nonlocal refused
            try:
                async with database_slot():
                    pass
            except DatabaseBusyError:
                refused += 1

        first = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        waiters = [asyncio.ensure_future(waiter()) for _ in range(5)]
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(first, *waiters)
        return refused

    assert asyncio.run(scenario()) == 2


@pytest.mark.django_db(transaction=True)
def test_an_api_request_that_gets_no_slot_is_a_503_to_retry(monkeypatch):
    from engine_project import api_handler
    from tests.engine_project.test_api_handler import request

    @contextlib.asynccontextmanager
    async def never():
        raise DatabaseBusyError("no database slot within 30 s")
        yield

    monkeypatch.setattr(api_handler, "database_slot", never)
    status, headers, body = request("GET", "/api/orders")
    assert status == 503
    assert json.loads(body) == {"errors": {"database": [api_handler.BUSY_MESSAGE]}}
    assert headers["retry-after"] == "5"
    assert headers["x-frame-options"] == "DENY"
