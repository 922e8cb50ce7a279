"""The hot statements agree with the ORM about what they write and read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders import statements
from orders.models import Order, OrderEvent
from orders.payloads import event_message
from orders.services.transitions import order_transition

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Order, OrderEvent])
def test_none_is_null_for_every_column_so_the_statements_may_skip_converting_it(model):
    for field in model._meta.concrete_fields:
        assert field.get_db_prep_save(None, connection) is None, field.name


def test_a_replay_reads_the_events_the_orm_reads(make_order, recorder):
    order = make_order()
    order_transition(
        order=order,
        to=Order.Status.ROUTING,
        notifier=recorder,
        changes={"attempts": 1, "dex": "raydium"},
        event={"details": {"quoteMs": 1.5}, "quotes": {"raydium": {"outAmount": "1.2"}}},
    )
    # Every column a message shows, the money ones too (written as a finished fill).
    OrderEvent.objects.create(
        order=order,
        seq=3,
        status=Order.Status.CONFIRMED,
        at=timezone.now(),
        attempt=1,
        dex="meteora",
        amount_out=Decimal("218.787171"),
        executed_price=Decimal("145.858114"),
        tx_hash="5xTx",
        error="an earlier attempt's error",
        details={"executeMs": 2.5},
    )
    replayed = statements.events_by_public_id(order_id=order.public_id, after_seq=0)
    stored = list(OrderEvent.objects.filter(order=order).order_by("seq"))
    order_id = str(order.public_id)
    assert [event_message(event, order_id=order_id) for event in replayed] == [
        event_message(event, order_id=order_id) for event in stored
    ]
    assert [
        event.seq for event in statements.events_by_public_id(order_id=order.public_id, after_seq=1)
    ] == [2, 3]
