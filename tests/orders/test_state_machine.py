"""The order state machine: legal transitions only, and a claim can be won only once."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderEvent
from orders.services.transitions import IllegalTransitionError, order_transition

pytestmark = pytest.mark.django_db
Status = Order.Status


def test_a_new_order_is_pending_with_its_first_event(make_order, recorder):
    order = make_order()
    assert order.status == Status.PENDING
    assert order.last_seq == 1
    [event] = OrderEvent.objects.filter(order=order)
    assert (event.seq, event.status) == (1, Status.PENDING)


def test_pending_reaches_the_channel_layer_before_the_task_is_queued(
    make_order, monkeypatch, django_capture_on_commit_callbacks
):
    """Otherwise the worker's `routing` can reach the stream before daphne's `pending`."""
    steps: list[str] = []

    class Recorder:
        def publish(self, message, *, wait=False):
            steps.append(f"publish {message['status']} wait={wait}")

    class Queue:
        def enqueue(self, *, order_pk, countdown=None):
            steps.append("enqueue")

    with django_capture_on_commit_callbacks(execute=True):
        make_order(notifier=Recorder(), queue=Queue())
    assert steps == ["publish pending wait=True", "enqueue"]


def test_each_transition_writes_the_row_and_the_next_event(make_order, recorder):
    order = make_order()
    for status in (Status.ROUTING, Status.BUILDING, Status.SUBMITTED, Status.CONFIRMED):
        assert order_transition(order=order, to=status, notifier=recorder)
    order.refresh_from_db()
    assert order.status == Status.CONFIRMED
    assert order.finished_at is not None
    seqs = list(OrderEvent.objects.filter(order=order).values_list("seq", "status"))
    assert seqs == [
        (1, "pending"),
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), Status.BUILDING),
        ((), Status.SUBMITTED),
        ((), Status.CONFIRMED),
        ((Status.ROUTING,), Status.SUBMITTED),
        ((Status.ROUTING,), Status.CONFIRMED),
        ((Status.ROUTING, Status.BUILDING), Status.CONFIRMED),
        ((Status.ROUTING, Status.BUILDING, Status.SUBMITTED, Status.CONFIRMED), Status.FAILED),
        ((Status.ROUTING, Status.BUILDING, Status.SUBMITTED, Status.CONFIRMED), Status.ROUTING),
        ((Status.FAILED,), Status.ROUTING),
        ((Status.FAILED,), Status.CONFIRMED),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(make_order, recorder, path, illegal):
    order = make_order()
    for status in path:
        assert order_transition(order=order, to=status, notifier=recorder)
    before = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(IllegalTransitionError):
        order_transition(order=order, to=illegal, notifier=recorder)
    assert OrderEvent.objects.filter(order=order).count() == before
    assert Order.objects.get(pk=order.pk).status == (path[-1] if path else Status.PENDING)


def test_a_retry_may_return_to_routing_from_any_in_flight_status(make_order, recorder):
    order = make_order()
    for status in (Status.ROUTING, Status.BUILDING, Status.ROUTING, Status.BUILDING):
        assert order_transition(order=order, to=status, notifier=recorder)
    assert order_transition(order=order, to=Status.SUBMITTED, notifier=recorder)
    assert order_transition(order=order, to=Status.ROUTING, notifier=recorder)


def test_a_second_claim_of_the_same_order_does_nothing(make_order, recorder):
    order = make_order()
    first = Order.objects.get(pk=order.pk)
    second = Order.objects.get(pk=order.pk)  # another worker read the same row
    assert order_transition(order=first, to=Status.ROUTING, notifier=recorder)
    assert not order_transition(order=second, to=Status.ROUTING, notifier=recorder)
    events = list(OrderEvent.objects.filter(order=order).values_list("seq", "status"))
    assert events == [(1, "pending"), (2, "routing")]


def test_a_stale_reader_cannot_overwrite_a_later_state(make_order, recorder):
    order = make_order()
    stale = Order.objects.get(pk=order.pk)
    assert order_transition(order=order, to=Status.ROUTING, notifier=recorder)
    assert order_transition(order=order, to=Status.BUILDING, notifier=recorder)
    # The stale copy still believes the order is pending.
    assert not order_transition(order=stale, to=Status.FAILED, notifier=recorder)
    assert Order.objects.get(pk=order.pk).status == Status.BUILDING
