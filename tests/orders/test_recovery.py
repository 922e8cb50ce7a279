"""The recovery sweep finds orders whose task vanished and queues them again."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order
from orders.services import swap_steps
from orders.services.execution import order_execute
from orders.services.recovery import orders_recover_stuck

pytestmark = pytest.mark.django_db


def age(order: Order, seconds: float) -> None:
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def test_only_orders_nobody_works_on_are_requeued(
    make_order, make_gateway, recorder, start_delivery, crash_delivery
):
    fresh = make_order()
    stuck_pending = make_order()
    age(stuck_pending, 120)
    stuck_building = make_order()
    execution = start_delivery(stuck_building, notifier=recorder, dex=make_gateway())
    swap_steps.route(execution)
    swap_steps.build(execution)
    crash_delivery(execution)
    live = make_order()
    swap_steps.route(start_delivery(live, notifier=recorder, dex=make_gateway()))  # its lease holds
    finished = make_order()
    order_execute(order_pk=finished.pk, notifier=recorder, dex=make_gateway())
    age(finished, 120)

    report = orders_recover_stuck(stuck_after_s=30)

    assert report.requeued_pending == [str(stuck_pending.public_id)]
    assert report.requeued_in_flight == [str(stuck_building.public_id)]
    assert str(fresh.public_id) not in report.requeued_pending
    assert report.total == 2
    # Queued once per interval, not at every sweep.
    assert orders_recover_stuck(stuck_after_s=30).total == 0


def test_a_retry_whose_message_was_lost_is_requeued(make_order, recorder):
    order = make_order()
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.SUBMITTED,
        next_attempt_at=timezone.now() - timedelta(seconds=120),
        updated_at=timezone.now() - timedelta(seconds=120),
    )
    report = orders_recover_stuck(stuck_after_s=30)
    assert report.requeued_retries == [str(order.public_id)]
    assert report.requeued_in_flight == []


def test_the_operator_command_lists_what_it_requeued(make_order):
    order = make_order()
    age(order, 120)
    out = StringIO()
    call_command("recover_orders", "--stuck-after", "30", stdout=out)
    assert str(order.public_id) in out.getvalue()
    assert "1 orders re-queued" in out.getvalue()
