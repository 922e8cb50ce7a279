"""The one way an order changes status.

``order_transition`` is a single statement: a conditional UPDATE of the order row (it
must still be in the status, and at the event ``seq``, that the caller saw) feeding the
INSERT of the matching ``OrderEvent``. A worker that lost a race changes nothing and
stops; this is what makes a redelivered task safe.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders import leases, statements
from orders.models import Order, OrderEvent
from orders.notifications import Notifier
from orders.payloads import event_message


class IllegalTransitionError(Exception):
    pass


def order_transition(
    *,
    order: Order,
    to: str,
    notifier: Notifier,
    changes: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    holder: str | None = None,
) -> bool:
    """Move ``order`` to ``to`` if nobody else moved it since it was read.

    Returns False (and changes nothing) when another worker got there first. On success
    ``order`` carries the new values (no re-read: the compare-and-set on ``last_seq``
    proves nobody else wrote the row) and the event is published after commit.

    With ``holder`` the order must still be leased to it; the same UPDATE pushes the
    lease forward, or lets it go when ``to`` is terminal or ``waiting`` (no worker holds
    a resting order).
    """
    if to not in Order.TRANSITIONS[order.status]:
        raise IllegalTransitionError(f"{order.status} -> {to} is not a legal transition")
    now = timezone.now()
    seq = order.last_seq + 1
    changes = dict(changes or {})
    if to in Order.TERMINAL:
        changes.setdefault("finished_at", now)
        changes.setdefault("next_attempt_at", None)
    event_fields = {"attempt": order.attempts, "dex": order.dex, **(event or {})}
    if "attempts" in changes:
        event_fields["attempt"] = changes["attempts"]
    if "dex" in changes:
        event_fields.setdefault("dex", changes["dex"])
    changes.update(status=to, last_seq=seq, updated_at=now)
    lease_changes: dict[str, Any] = {}
    if holder is not None:
        lets_go = to in Order.TERMINAL or to == Order.Status.WAITING
        lease_changes = leases.released_fields() if lets_go else leases.lease_fields()
    created = OrderEvent(order_id=order.pk, seq=seq, status=to, at=now, **event_fields)
    created.pk = statements.transition_write(
        order_pk=order.pk,
        from_status=order.status,
        from_seq=order.last_seq,
        holder=holder,
        changes={**changes, **lease_changes},
        event=created,
    )
    if created.pk is None:
        return False
    # At once in autocommit (the statement is its own transaction), else after the
    # caller's transaction commits.
    transaction.on_commit(
        partial(notifier.publish, event_message(created, order_id=str(order.public_id)))
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return True
