"""Leases on orders being executed: which delivery of its task holds an order, and until when.

A delivery first claims the order's lease with a conditional UPDATE. While a live lease
is held by another delivery, a duplicate (a redelivered message, a copy the sweep queued)
stops at once and is not counted as a delivery. An expired lease, or one whose holder is
known to be gone (its process on this host has exited), is taken over. The holder pushes
the lease forward at every transition and while it waits on the network, and lets go
when it stops, so a crashed worker's orders are taken over within ``ORDER_LEASE_S``
(at once when the new worker runs on the same host) instead of after minutes of silence.

Leases decide who works on an order; they are not what makes a swap happen once. That
is still the compare-and-set on ``last_seq`` at every transition and the network being
asked before anything is sent: a holder that lost its lease fails its next transition.

Times come from PostgreSQL's clock (``Now()``), so hosts whose clocks disagree still
agree on when a lease ends.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Now

from orders import statements
from orders.models import Order

_HOST = socket.gethostname()


def lease_length() -> timedelta:
    return timedelta(seconds=settings.ORDER_LEASE_S)


def renew_every_s() -> float:
    """How often a holder pushes its lease forward: three chances before it runs out."""
    return float(settings.ORDER_LEASE_S) / 3


def _stat(pid: int) -> tuple[str, str] | None:
    """Process ``pid``'s state letter and start time (clock ticks since boot), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After "pid (comm)": state is field 3 of stat, the start time field 22.
    return (fields[0], fields[19]) if len(fields) > 19 else None


@cache
def _process_start(pid: int) -> str:
    """This process's start time; "" where /proc is missing (then only expiry frees)."""
    stat = _stat(pid)
    return stat[1] if stat else ""


def new_holder() -> str:
    """A name for one delivery: ``host/pid/process start/random``.

    The pid and its start time let another process on the same host tell whether the
    holder is still running (a pid can be reused; the pair cannot). The random part
    keeps two deliveries in one process (threads, or a stuck earlier one) apart.
    """
    pid = os.getpid()
    return f"{_HOST}/{pid}/{_process_start(pid)}/{uuid.uuid4().hex[:12]}"


def holder_gone(holder: str) -> bool:
    """True when ``holder`` ran on this host and its process no longer does.

    A holder on another host is never judged from here: only its lease running out
    frees its order.
    """
    host, _, rest = holder.partition("/")
    pid_text, _, rest = rest.partition("/")
    started, _, _ = rest.partition("/")
    if host != _HOST or not pid_text.isdigit() or not started:
        return False
    stat = _stat(int(pid_text))
    # Gone, a zombie nobody reaped yet (a SIGKILLed pool child), or a reused pid.
    return stat is None or stat[0] in ("Z", "X") or stat[1] != started


def _free() -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=Now())


def lease_claim(*, order_pk: int, holder: str) -> Order | None:
    """Claim the order for ``holder`` and return it as stored, or None if not ours to run.

    None means the order is gone, finished, or held by a live delivery elsewhere. A
    successful claim counts one delivery.
    """
    order = statements.lease_claim_write(order_pk=order_pk, holder=holder, lease=lease_length())
    if order is not None:
        return order
    current = Order.objects.filter(pk=order_pk).values_list("lease_owner", flat=True).first()
    if not current or not holder_gone(current):
        return None
    # The holder died on this host: compare-and-set on its name, so of several
    # deliveries that notice at once exactly one takes over.
    return statements.lease_claim_write(
        order_pk=order_pk, holder=holder, lease=lease_length(), current_holder=current
    )


def lease_renew(*, order_pk: int, holder: str) -> bool:
    """Push ``holder``'s lease forward; False if it was taken over meanwhile."""
    renewed = Order.objects.filter(pk=order_pk, lease_owner=holder).update(
        lease_until=Now() + lease_length()
    )
    return renewed == 1


def lease_release(*, order_pk: int, holder: str) -> None:
    """Let go of the order so the next delivery (a retry, the sweep's) can claim it at once."""
    Order.objects.filter(pk=order_pk, lease_owner=holder).update(lease_owner=None, lease_until=None)


def lease_fields() -> dict[str, object]:
    """Columns that push the holder's lease forward, for a transition the holder makes
    anyway (``orders.statements.transition_write`` reads a timedelta as now() + it)."""
    return {"lease_until": lease_length()}


def released_fields() -> dict[str, object]:
    """Columns that let go of the lease, for the UPDATE that ends a delivery's work."""
    return {"lease_owner": None, "lease_until": None}


def orders_with_free_lease(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.filter(_free())


def orders_held_by_gone_holders(orders: QuerySet[Order]) -> list[int]:
    """Primary keys of ``orders`` whose live lease belongs to a process gone from this host."""
    held = orders.filter(lease_until__gte=Now(), lease_owner__startswith=f"{_HOST}/")
    rows = held.values_list("pk", "lease_owner")
    return [pk for pk, holder in rows if holder is not None and holder_gone(holder)]
