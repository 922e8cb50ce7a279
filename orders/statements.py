"""The order's hot statements, each one SQL statement: a transition with its event, an
order with its first event, a lease claim that returns the row, a socket's replay.

Through the ORM a transition was BEGIN, a conditional UPDATE, an INSERT and COMMIT: four
round trips to PostgreSQL and most of a worker's CPU per order. Here the UPDATE feeds the
INSERT in one statement (a data-modifying CTE), which PostgreSQL runs atomically: the
event is written exactly when the compare-and-set wins, and not at all when it loses.

Column names, types and values come from the models' own fields (``column``,
``db_type``, ``get_db_prep_save``), so a new column needs no change here. The SQL text
of each shape of statement is built once per process and kept, and the writes run as
prepared statements with their parameters bound by the server (``_run``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import psycopg
from django.db import connection, transaction
from django.db.models import Field, Model

from orders.models import Order, OrderEvent

# A value of this type for a datetime column means "PostgreSQL's now() plus it".
Interval = timedelta

_ORDER_FIELDS = {field.name: field for field in Order._meta.concrete_fields}
_ORDER_INSERT_FIELDS = [field for field in Order._meta.concrete_fields if not field.primary_key]
_EVENT_FIELDS = [field for field in OrderEvent._meta.concrete_fields if not field.primary_key]
_EVENT_INSERT_FIELDS = [field for field in _EVENT_FIELDS if field.column != "order_id"]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(fields: list[Field[Any, Any]]) -> str:
    return ", ".join(_quote(field.column) for field in fields)


def _placeholders(fields: list[Field[Any, Any]]) -> str:
    """``%s::type`` per field: in ``INSERT ... SELECT`` PostgreSQL does not infer a
    parameter's type from the target column, so an untyped NULL or literal would be text."""
    return ", ".join(f"%s::{field.db_type(connection)}" for field in fields)


def _run(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Execute one hot write as a prepared statement; return its first row.

    Django's cursors splice the parameters into the SQL text on the client (psycopg's
    quoting of each one showed as a tenth of a worker's samples); these statements run
    thousands of times in a few shapes, so the server binds them and keeps their plan
    per connection instead: 10-15 % less client CPU per transition, the same on the
    server (a loop of transitions, docs/PERFORMANCE.md). Errors still come out as
    Django's (``IntegrityError``, ``OperationalError``...), and inside
    ``transaction.atomic`` the statement is part of the transaction as usual. Behind
    PgBouncer this needs session pooling (or PgBouncer's prepared-statement support).
    """
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def _prep(field: Field[Any, Any], value: Any) -> Any:
    """``value`` as the column takes it. None is NULL for every field of these models
    (tests/orders/test_statements.py checks), and most of an event's columns are None,
    so they skip Django's conversion chain (5 % of a worker's samples, for all columns)."""
    return None if value is None else field.get_db_prep_save(value, connection)


def _values(fields: list[Field[Any, Any]], instance: Model) -> list[Any]:
    return [_prep(field, getattr(instance, field.attname)) for field in fields]


@cache
def _transition_sql(changed: tuple[tuple[str, bool], ...], with_holder: bool) -> str:
    """The statement for one shape of transition: which columns change (and which of them
    are intervals from now), and whether the lease holder is checked."""
    assignments = ", ".join(
        f"{_quote(_ORDER_FIELDS[name].column)} = " + ("now() + %s" if interval else "%s")
        for name, interval in changed
    )
    where = f"{_quote('id')} = %s AND status = %s AND {_quote('lastSeq')} = %s"
    if with_holder:
        where += f" AND {_quote('leaseOwner')} = %s"
    return (
        f"WITH moved AS (UPDATE orders SET {assignments} WHERE {where} RETURNING id) "
        f"INSERT INTO order_events ({_columns(_EVENT_FIELDS)}) "
        f"SELECT {_placeholders(_EVENT_FIELDS)} FROM moved RETURNING id"
    )


def transition_write(
    *,
    order_pk: int,
    from_status: str,
    from_seq: int,
    holder: str | None,
    changes: dict[str, Any],
    event: OrderEvent,
) -> int | None:
    """Apply ``changes`` to the row if it is still at (``from_status``, ``from_seq``) and,
    with ``holder``, still leased to it; insert ``event`` in the same statement.

    Returns the event's id, or None when the compare-and-set lost (nothing written).
    """
    shape = tuple((name, isinstance(value, Interval)) for name, value in changes.items())
    params = [
        value if interval else _prep(_ORDER_FIELDS[name], value)
        for (name, interval), value in zip(shape, changes.values(), strict=True)
    ]
    params += [order_pk, from_status, from_seq]
    if holder is not None:
        params.append(holder)
    params += _values(_EVENT_FIELDS, event)
    row = _run(_transition_sql(shape, holder is not None), params)
    return None if row is None else int(row[0])


@cache
def _insert_sql() -> str:
    return (
        f"WITH created AS (INSERT INTO orders ({_columns(_ORDER_INSERT_FIELDS)}) "
        f"VALUES ({', '.join(['%s'] * len(_ORDER_INSERT_FIELDS))}) RETURNING id) "
        f"INSERT INTO order_events (order_id, {_columns(_EVENT_INSERT_FIELDS)}) "
        f"SELECT id, {_placeholders(_EVENT_INSERT_FIELDS)} FROM created "
        f"RETURNING order_id, id"
    )


def order_insert_with_event(*, order: Order, event: OrderEvent, now: datetime) -> None:
    """Insert ``order`` and its first ``event`` in one statement; sets their ids.

    Raises ``IntegrityError`` like ``Order.objects.create`` would (a reused
    Idempotency-Key meets the unique index).
    """
    for field in _ORDER_INSERT_FIELDS:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            setattr(order, field.attname, now)
    params = [*_values(_ORDER_INSERT_FIELDS, order), *_values(_EVENT_INSERT_FIELDS, event)]
    # Alone, the statement is its own transaction. Inside the caller's, a savepoint keeps
    # a unique violation from aborting it (the caller then reads the existing order).
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with guard:
        row = _run(_insert_sql(), params)
    assert row is not None  # INSERT ... RETURNING always returns its row
    order_pk, event_pk = row
    order.pk = order_pk
    order._state.adding = False
    order._state.db = "default"
    event.pk = event_pk
    event.order_id = order_pk


@cache
def _claim_sql(by_holder: bool) -> str:
    columns = ", ".join(f"orders.{_quote(field.column)}" for field in Order._meta.concrete_fields)
    lease = (
        f"{_quote('leaseOwner')} = %s"
        if by_holder
        else f"({_quote('leaseUntil')} IS NULL OR {_quote('leaseUntil')} < now())"
    )
    terminal = ", ".join(["%s"] * len(Order.TERMINAL))
    return (
        f"UPDATE orders SET {_quote('leaseOwner')} = %s, "
        f"{_quote('leaseUntil')} = now() + %s, deliveries = deliveries + 1 "
        f"WHERE id = %s AND status NOT IN ({terminal}) AND {lease} RETURNING {columns}"
    )


def lease_claim_write(
    *, order_pk: int, holder: str, lease: timedelta, current_holder: str | None = None
) -> Order | None:
    """Lease the order to ``holder`` and return the row as it now stands, in one statement.

    Without ``current_holder`` only a free or expired lease is taken; with it, only the
    lease that holder still has (a compare-and-set on its name). None: not claimed.
    """
    params: list[Any] = [holder, lease, order_pk, *sorted(Order.TERMINAL)]
    if current_holder is not None:
        params.append(current_holder)
    row = _run(_claim_sql(current_holder is not None), params)
    return None if row is None else model_from_row(Order, row)


M = TypeVar("M", bound=Model)


def model_from_row(model: type[M], row: Sequence[Any]) -> M:
    """An instance from a row of all ``model``'s concrete columns, in their order, as the
    ORM would build it (each field's ``from_db_value``: JSON parsed, and so on)."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return model.from_db("default", names, values)


@cache
def _events_by_public_id_sql() -> str:
    events = OrderEvent._meta.db_table
    columns = ", ".join(f"e.{_quote(field.column)}" for field in OrderEvent._meta.concrete_fields)
    public_id = _quote(Order._meta.get_field("public_id").column)
    order_fk = _quote(OrderEvent._meta.get_field("order").column)
    return (
        f"SELECT {columns} FROM {_quote(events)} e "
        f"JOIN {_quote(Order._meta.db_table)} o ON o.id = e.{order_fk} "
        f"WHERE o.{public_id} = %s AND e.seq > %s ORDER BY e.seq"
    )


def events_by_public_id(*, order_id: uuid.UUID, after_seq: int) -> list[OrderEvent]:
    """An order's events after ``after_seq`` by its public id, oldest first: the status
    socket's replay, which runs once per socket (through the ORM its query compile was a
    quarter of a socket's cost in the web process)."""
    with connection.cursor() as cursor:
        cursor.execute(_events_by_public_id_sql(), [order_id, after_seq])
        rows = cursor.fetchall()
    return [model_from_row(OrderEvent, row) for row in rows]
