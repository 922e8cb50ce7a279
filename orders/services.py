"""Order business logic: creation, the execution state machine, transitions.

Every status change goes through ``order_transition``: one transaction that performs a
conditional UPDATE of the order row (it must still be in the status, and at the event
``seq``, that the caller saw) and appends the matching ``OrderEvent``. A worker that lost
a race changes nothing and stops; this is what makes a redelivered task safe.

Slow I/O (quotes, the network) happens between transitions, never inside one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dex.errors import (
    DexError,
    InsufficientLiquidityError,
    QuoteTimeoutError,
    SlippageExceededError,
    TransactionLostError,
)
from dex.network import TxStatus
from dex.router import find_best_route
from dex.tokens import get_token
from orders import aio, leases, statements
from orders.gateway import DexGateway, default_gateway
from orders.models import Order, OrderEvent
from orders.notifications import Notifier, default_notifier
from orders.payloads import event_message

logger = logging.getLogger(__name__)

Status = Order.Status


class IllegalTransitionError(Exception):
    pass


class IdempotencyConflictError(Exception):
    """The Idempotency-Key was used before with a different body."""


# --- creation -------------------------------------------------------------------------


def request_fingerprint(
    *, token_in: str, token_out: str, amount: Decimal, slippage_bps: int, order_type: str
) -> str:
    canonical = json.dumps(
        [token_in, token_out, format(amount.normalize(), "f"), slippage_bps, order_type]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_create(
    *,
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage_bps: int,
    order_type: str = Order.OrderType.MARKET,
    idempotency_key: str | None = None,
    notifier: Notifier | None = None,
) -> tuple[Order, bool]:
    """Store a pending order with its first event and queue it once committed.

    Returns ``(order, created)``; ``created`` is False when the Idempotency-Key was seen
    before with the same body. Two requests racing with one key meet at the unique index.
    """
    notifier = notifier or default_notifier()
    fingerprint = request_fingerprint(
        token_in=token_in,
        token_out=token_out,
        amount=amount,
        slippage_bps=slippage_bps,
        order_type=order_type,
    )
    if idempotency_key:
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _idempotent_replay(existing, fingerprint), False
    try:
        now = timezone.now()
        order = Order(
            token_in=token_in,
            token_out=token_out,
            amount_in=amount,
            slippage_bps=slippage_bps,
            order_type=order_type,
            status=Status.PENDING,
            last_seq=1,
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
        )
        event = OrderEvent(
            seq=1, status=Status.PENDING, at=now, details={"queuedAt": now.timestamp()}
        )
        # One statement, so its own transaction: the row and its first event, or neither.
        statements.order_insert_with_event(order=order, event=event, now=now)
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _idempotent_replay(existing, fingerprint), False
    # Publish, then queue: the worker's `routing` must not reach the stream first. After
    # the caller's commit when it holds a transaction open, else at once.
    transaction.on_commit(
        partial(notifier.publish, event_message(event, order_id=str(order.order_id)), wait=True)
    )
    transaction.on_commit(partial(order_enqueue, order_pk=order.pk))
    logger.info(
        "order %s created: %s %s -> %s, slippage %s bps",
        order.order_id,
        amount,
        token_in,
        token_out,
        slippage_bps,
        extra={"orderId": str(order.order_id)},
    )
    return order, True


def _idempotent_replay(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise IdempotencyConflictError(
            "this Idempotency-Key was already used with a different request body"
        )
    return order


def order_enqueue(*, order_pk: int, countdown: float | None = None) -> None:
    """Put the order on the execution queue. A failure leaves it to the recovery sweep."""
    from orders.tasks import execute_order

    try:
        if countdown is None:
            execute_order.apply_async((order_pk,))
        else:
            execute_order.apply_async((order_pk,), countdown=countdown)
    except Exception:
        logger.exception("could not enqueue order pk=%s; the sweep will retry", order_pk)


# --- transitions ----------------------------------------------------------------------


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
    lease forward, or lets it go when ``to`` is terminal.
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
        lease_changes = leases.released_fields() if to in Order.TERMINAL else leases.lease_fields()
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
        partial(notifier.publish, event_message(created, order_id=str(order.order_id)))
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return True


# --- execution ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionResult:
    """What the task should do next: nothing, or run again after ``retry_in`` seconds."""

    status: str
    retry_in: float | None = None


def order_execute(
    *,
    order_pk: int,
    notifier: Notifier | None = None,
    dex: DexGateway | None = None,
) -> ExecutionResult:
    """Drive the order from wherever the database says it is to the end of an attempt.

    Safe to call again at any point (a redelivered or duplicated task): the delivery
    first claims the order's lease, so a duplicate of a live delivery stops at once;
    each step reads the stored state, asks the network before sending, and claims its
    transition.
    """
    holder = leases.new_holder()
    order = leases.lease_claim(order_pk=order_pk, holder=holder)
    if order is None:
        return _not_ours(order_pk)
    execution = _Execution(
        order=order,
        holder=holder,
        notifier=notifier or default_notifier(),
        dex=dex or default_gateway(),
    )
    try:
        if order.deliveries > settings.ORDER_MAX_DELIVERIES:
            # A message that keeps killing its worker must end somewhere.
            with contextlib.suppress(_LostRace):
                execution.give_up(f"gave up after {order.deliveries - 1} deliveries of its task")
            return ExecutionResult(execution.order.status)
        return execution.run()
    finally:
        if execution.holds_lease:
            # Stopped early (lost race, database error): let the sweep hand it on now.
            with contextlib.suppress(DatabaseError):
                leases.lease_release(order_pk=order_pk, holder=holder)


def _not_ours(order_pk: int) -> ExecutionResult:
    """Why a delivery could not claim the order: gone, finished, or held by a live one."""
    row = Order.objects.filter(pk=order_pk).values_list("order_id", "status").first()
    if row is None:
        return ExecutionResult("missing")
    order_id, status = row
    if status not in Order.TERMINAL:
        logger.info(
            "order %s is held by a live delivery; this duplicate stops",
            order_id,
            extra={"orderId": str(order_id)},
        )
    return ExecutionResult(status)


def retry_delay(*, attempt: int) -> float:
    """Exponential back-off with bounded jitter (±10 %): 1 s, 2 s, 4 s... by default."""
    base = settings.ORDER_RETRY_BACKOFF_S * 2 ** (attempt - 1)
    return base * random.uniform(0.9, 1.1)


class _LostRace(Exception):
    """Another worker moved the order; this one stops."""


class _Execution:
    def __init__(self, *, order: Order, holder: str, notifier: Notifier, dex: DexGateway) -> None:
        self.order = order
        self.holder = holder
        self.holds_lease = True
        self.lease_renewed_at = time.monotonic()
        self.notifier = notifier
        self.dex = dex
        # DEX time of a landed-but-failed fill, recorded with the failure.
        self.pending_dex_ms = 0.0

    @property
    def log_extra(self) -> dict[str, str]:
        return {"orderId": str(self.order.order_id)}

    def run(self) -> ExecutionResult:
        try:
            while not self.order.is_terminal:
                try:
                    self._step()
                except DexError as exc:
                    retry_in = self._attempt_failed(exc)
                    if retry_in is not None:
                        return ExecutionResult(self.order.status, retry_in)
        except _LostRace:
            logger.info(
                "order %s moved on elsewhere; this delivery stops",
                self.order.order_id,
                extra=self.log_extra,
            )
        return ExecutionResult(self.order.status)

    def _step(self) -> None:
        order = self.order
        if order.status == Status.PENDING or order.next_attempt_at is not None:
            self._route()
        elif order.status == Status.ROUTING:
            self._build()
        elif order.status == Status.BUILDING:
            self._submit()
        elif order.status == Status.SUBMITTED:
            self._await_landing()

    def _move(self, to: str, **kwargs: Any) -> None:
        moved = order_transition(
            order=self.order, to=to, notifier=self.notifier, holder=self.holder, **kwargs
        )
        if not moved:
            raise _LostRace
        self.lease_renewed_at = time.monotonic()
        if to in Order.TERMINAL:
            self.holds_lease = False

    def _keep_lease(self) -> None:
        """Renew the lease when a third of it has passed; stop if it was taken over."""
        if time.monotonic() - self.lease_renewed_at < leases.renew_every_s():
            return
        if not leases.lease_renew(order_pk=self.order.pk, holder=self.holder):
            self.holds_lease = False
            raise _LostRace
        self.lease_renewed_at = time.monotonic()

    def _pause(self, seconds: float) -> None:
        """Sleep without letting the lease run out."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, leases.renew_every_s()))
            self._keep_lease()

    # routing: quote both DEXes, pick the best, start an attempt
    def _route(self) -> None:
        order = self.order
        if order.next_attempt_at is not None:
            wait = (order.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                self._pause(wait)
        self._keep_lease()
        attempt = order.attempts + 1
        started = time.time()
        try:
            route = aio.run(
                find_best_route(
                    list(self.dex.venues.values()),
                    token_in=order.token_in,
                    token_out=order.token_out,
                    amount=order.amount_in.quantize(get_token(order.token_in).unit),
                ),
                timeout=settings.DEX_QUOTE_TIMEOUT_S,
            )
        except TimeoutError:
            raise QuoteTimeoutError(f"no quote within {settings.DEX_QUOTE_TIMEOUT_S:g} s") from None
        quote_ms = (time.time() - started) * 1000
        chosen = route.chosen
        min_out = chosen.min_out(order.slippage_bps)
        quotes = route.quotes_dict(slippage_bps=order.slippage_bps)
        token_in = get_token(order.token_in)
        token_out = get_token(order.token_out)
        path = f"{token_in.route_symbol} -> {token_out.route_symbol}"
        wrap_note = (
            "SOL is native; wrapped to wSOL for the swap"
            if token_in.native
            else "received as wSOL, unwrapped to SOL"
            if token_out.native
            else None
        )
        route_record = {
            "dex": chosen.dex,
            "pool": chosen.pool,
            "reason": route.reason,
            "path": path,
            "wrappedSol": wrap_note,
            "quotes": quotes,
            "minAmountOut": str(min_out),
        }
        logger.info(
            "order %s attempt %s routed to %s: %s",
            order.order_id,
            attempt,
            chosen.dex,
            json.dumps({"reason": route.reason, "quotes": quotes}),
            extra=self.log_extra,
        )
        self._move(
            Status.ROUTING,
            changes={
                "attempts": attempt,
                "next_attempt_at": None,
                "dex": chosen.dex,
                "route": route_record,
                "min_amount_out": min_out,
                "signed_tx": None,
                "dex_time_ms": order.dex_time_ms + quote_ms,
            },
            event={
                "dex": chosen.dex,
                "quotes": quotes,
                "error": order.error if attempt > 1 else None,
                "details": {
                    "reason": route.reason,
                    "pool": chosen.pool,
                    "path": path,
                    "wrappedSol": wrap_note,
                    "minAmountOut": str(min_out),
                    "quoteStartedAt": started,
                    "quoteMs": round(quote_ms, 3),
                },
            },
        )

    # building: sign the swap against a fresh blockhash (local; nothing is sent)
    def _build(self) -> None:
        order = self.order
        chosen = order.route or {}
        blockhash = self.dex.network.recent_blockhash()
        tx = self.dex.network.sign_swap(
            order_id=str(order.order_id),
            attempt=order.attempts,
            dex=chosen["dex"],
            pool=chosen["pool"],
            token_in=order.token_in,
            token_out=order.token_out,
            amount_in=order.amount_in,
            min_amount_out=order.min_amount_out or Decimal(0),
            blockhash=blockhash,
        )
        self._move(
            Status.BUILDING,
            changes={"signed_tx": tx},
            event={
                "details": {
                    "signature": tx["signature"],
                    "recentBlockhash": blockhash.hash,
                    "lastValidAt": blockhash.last_valid_at,
                    "minAmountOut": tx["minAmountOut"],
                }
            },
        )

    # submitted: send the signed transaction once (ask the network first)
    def _submit(self) -> None:
        order = self.order
        tx = dict(order.signed_tx or {})
        network = self.dex.network
        known = network.status(tx["signature"])
        now = time.time()
        if known.state == "unknown":
            receipt = network.submit(tx, now=now)
            lands_at = receipt.lands_at
        else:
            lands_at = known.lands_at or now
        tx.update({"submittedAt": now, "landsAt": lands_at})
        self._move(
            Status.SUBMITTED,
            changes={"signed_tx": tx, "tx_hash": tx["signature"]},
            event={
                "tx_hash": tx["signature"],
                "details": {"landsInMs": round((lands_at - now) * 1000, 3), "landsAt": lands_at},
            },
        )

    # confirmed: wait for the network to land it, then record the fill
    def _await_landing(self) -> None:
        status = self._wait_for_network(rebroadcast=True)
        self._record_landing(status)

    def _wait_for_network(self, *, rebroadcast: bool) -> TxStatus:
        """Poll the network about the stored transaction until it has landed.

        With ``rebroadcast`` a transaction the network lost is sent again as it is (never
        re-signed: at most one can land); without it, ``unknown`` is an answer.
        """
        tx = self.order.signed_tx or {}
        network = self.dex.network
        signature = tx["signature"]
        while True:
            status = network.status(signature)
            if status.state == "pending":
                self._pause(max(0.005, (status.lands_at or 0) - time.time()))
                continue
            if status.state == "unknown" and rebroadcast:
                # The network lost it (e.g. its store restarted) or never got it.
                if not network.blockhash_valid(tx):
                    raise TransactionLostError(
                        f"transaction {signature[:12]}… never landed and its blockhash expired"
                    )
                network.submit(tx)
                continue
            return status

    def _record_landing(self, status: TxStatus) -> None:
        order = self.order
        tx = order.signed_tx or {}
        signature = tx["signature"]
        execute_ms = max(0.0, (status.lands_at or 0) - float(tx.get("submittedAt", 0))) * 1000
        self.pending_dex_ms = execute_ms  # recorded with the outcome below
        if status.state == "failed":
            if status.failure == "slippage":
                raise SlippageExceededError(status.error or "slippage exceeded")
            raise InsufficientLiquidityError(status.error or "the pool cannot fill the order")
        self._move(
            Status.CONFIRMED,
            changes={
                "amount_out": status.amount_out,
                "executed_price": status.executed_price,
                "tx_hash": signature,
                "error": None,
                "dex_time_ms": order.dex_time_ms + execute_ms,
            },
            event={
                "amount_out": status.amount_out,
                "executed_price": status.executed_price,
                "tx_hash": signature,
                "details": {"executeMs": round(execute_ms, 3)},
            },
        )
        logger.info(
            "order %s confirmed on %s: %s %s, tx %s",
            order.order_id,
            order.dex,
            status.amount_out,
            order.token_out,
            signature,
            extra=self.log_extra,
        )

    def give_up(self, reason: str) -> None:
        """End an order whose task keeps dying, agreeing with the network.

        A transaction it already sent may still land: ask (never send) and record what
        happened; only an order with nothing on the network is failed outright.
        """
        order = self.order
        if order.signed_tx and order.status in (Status.BUILDING, Status.SUBMITTED):
            status = self._wait_for_network(rebroadcast=False)
            if status.state == "confirmed":
                if order.status == Status.BUILDING:
                    self._move(Status.SUBMITTED, changes={"tx_hash": order.signed_tx["signature"]})
                self._record_landing(status)
                return
            if status.state == "failed":
                reason = f"{reason}; its last transaction failed: {status.error}"
        self.fail(reason)

    def _attempt_failed(self, exc: DexError) -> float | None:
        """Record a failed attempt. Returns the back-off before the next, or None if final."""
        order = self.order
        reason = f"{type(exc).__name__}: {exc}"
        attempt = max(order.attempts, 1)
        final = not exc.transient or attempt >= settings.ORDER_MAX_ATTEMPTS
        logger.warning(
            "order %s attempt %s/%s failed (%s): %s",
            order.order_id,
            attempt,
            settings.ORDER_MAX_ATTEMPTS,
            "final" if final else "will retry",
            reason,
            extra=self.log_extra,
        )
        if final:
            if exc.transient:
                reason = f"failed after {attempt} attempts; last error: {reason}"
            self.fail(reason)
            return None
        retry_in = retry_delay(attempt=attempt)
        now = timezone.now()
        changes = {
            "error": reason,
            "next_attempt_at": now + timedelta(seconds=retry_in),
            "updated_at": now,
            "dex_time_ms": order.dex_time_ms + self.pending_dex_ms,
            # The retry is a new delivery: it must find the lease free.
            **leases.released_fields(),
        }
        updated = Order.objects.filter(
            pk=order.pk,
            status=order.status,
            last_seq=order.last_seq,
            next_attempt_at=None,
            lease_owner=self.holder,
        ).update(**changes)
        if not updated:
            raise _LostRace
        self.holds_lease = False
        for name, value in changes.items():
            setattr(order, name, value)
        self.pending_dex_ms = 0.0
        return retry_in

    def fail(self, reason: str) -> None:
        changes = {"error": reason, "dex_time_ms": self.order.dex_time_ms + self.pending_dex_ms}
        self._move(Status.FAILED, changes=changes, event={"error": reason})


# --- recovery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryReport:
    requeued_pending: list[str]
    requeued_in_flight: list[str]
    requeued_retries: list[str]

    @property
    def total(self) -> int:
        return (
            len(self.requeued_pending) + len(self.requeued_in_flight) + len(self.requeued_retries)
        )


def orders_recover_stuck(*, stuck_after_s: float | None = None) -> RecoveryReport:
    """Queue again the orders whose task vanished (worker killed, broker restarted, publish lost).

    The table is the outbox. An order in flight whose lease ran out, or whose holder's
    process is gone from this host, has nobody working on it; so has a retry whose
    back-off ended a lease's length ago, and a ``pending`` order nobody picked up for
    ``stuck_after_s``. Each gets a new task, at most once per interval (``requeued_at``),
    so a long backlog is not queued again at every sweep. That is always safe: the new
    delivery claims the lease or stops, resumes from the stored state, and asks the
    network before sending.
    """
    stuck_after_s = settings.ORDER_STUCK_AFTER_S if stuck_after_s is None else stuck_after_s
    now = timezone.now()
    stuck_since = now - timedelta(seconds=stuck_after_s)
    lease_ago = now - timedelta(seconds=settings.ORDER_LEASE_S)
    in_flight = Order.objects.filter(status__in=Order.IN_FLIGHT)
    groups = {
        "pending": _not_requeued_since(
            Order.objects.filter(status=Status.PENDING, updated_at__lt=stuck_since), stuck_since
        ),
        "in_flight": _not_requeued_since(in_flight.filter(next_attempt_at=None), lease_ago),
        "retries": _not_requeued_since(in_flight.filter(next_attempt_at__lt=lease_ago), lease_ago),
    }
    found: dict[str, list[int]] = {}
    for name, orders in groups.items():
        free = leases.orders_with_free_lease(orders).order_by("created_at")
        found[name] = list(free.values_list("pk", flat=True)[:1000])
    # Held, but by a process that died on this host (a fresh worker after a crash). These
    # leases are live, so none of them is among the free ones found above.
    found["in_flight"] += leases.orders_held_by_gone_holders(
        Order.objects.filter(status__in=[Status.PENDING, *Order.IN_FLIGHT])
    )

    requeued = {pk for pks in found.values() for pk in pks}
    if requeued:
        Order.objects.filter(pk__in=requeued).update(requeued_at=now)
    order_ids = dict(Order.objects.filter(pk__in=requeued).values_list("pk", "order_id"))
    for name, pks in found.items():
        for pk in pks:
            order_enqueue(order_pk=pk)
        if pks:
            logger.warning("recovery: re-queued %d %s orders", len(pks), name)
    return RecoveryReport(
        requeued_pending=[str(order_ids[pk]) for pk in found["pending"]],
        requeued_in_flight=[str(order_ids[pk]) for pk in found["in_flight"]],
        requeued_retries=[str(order_ids[pk]) for pk in found["retries"]],
    )


def _not_requeued_since(orders: QuerySet[Order], since: datetime) -> QuerySet[Order]:
    return orders.filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=since))
