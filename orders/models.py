"""Orders and their event history.

Column names of ``orders`` are fixed by the public contract (``SELECT "orderId", status
FROM orders`` must work), hence the camelCase ``db_column``s.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q

# NUMERIC(38, 18): exact, and wide enough for any token amount we accept.
MONEY_DIGITS = 38
MONEY_PLACES = 18


class OrderQuerySet(models.QuerySet["Order"]):
    def executing(self) -> OrderQuerySet:
        return self.filter(Order.EXECUTING)

    def waiting_to_retry(self, *, due_before: datetime | None = None) -> OrderQuerySet:
        orders = self.filter(Order.WAITING_TO_RETRY)
        return orders if due_before is None else orders.filter(next_attempt_at__lt=due_before)

    def pending_since_before(self, moment: datetime) -> OrderQuerySet:
        """Accepted and not picked up: nothing changed since ``moment``."""
        return self.filter(status=Order.Status.PENDING, updated_at__lt=moment)

    def not_requeued_since(self, moment: datetime) -> OrderQuerySet:
        return self.filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=moment))


class Order(models.Model):
    """An order and where it stands.

    Legal transitions (``TRANSITIONS``)::

        pending   -> routing | failed | waiting | cancelled
        waiting   -> routing (triggered) | cancelled | expired
        routing   -> building | failed | routing (next attempt) | waiting (a limit's fill
                     would come out below its minimum: it rests again)
        building  -> submitted | failed | routing | waiting
        submitted -> confirmed | failed | routing | waiting
        confirmed, failed, cancelled, expired: terminal

    Market orders go from ``pending`` to ``routing``; resting ones (limit, stop, sniper)
    wait in ``waiting`` until the price monitor triggers them, without a worker. An
    attempt that fails transiently leaves the status where it was, records the error
    and sets ``next_attempt_at``; the next attempt starts with a new ``routing`` event.
    Who may execute is decided by the order's lease (``lease_owner``, ``lease_until``):
    one delivery of its task at a time. Trigger, cancel and expiry are compare-and-sets
    on (``status``, ``last_seq``) like every transition: the first one wins.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        WAITING = "waiting"
        ROUTING = "routing"
        BUILDING = "building"
        SUBMITTED = "submitted"
        CONFIRMED = "confirmed"
        FAILED = "failed"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    class OrderType(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"
        STOP = "stop"
        SNIPER = "sniper"

    id = models.BigAutoField(primary_key=True)
    # The public UUID clients know as ``orderId``; ``id`` is the internal key that
    # ``OrderEvent.order_id`` points to.
    public_id = models.UUIDField(
        "order id", db_column="orderId", unique=True, default=uuid.uuid4, editable=False
    )
    token_in = models.CharField("token in", db_column="tokenIn", max_length=16)
    token_out = models.CharField("token out", db_column="tokenOut", max_length=16)
    amount_in = models.DecimalField(
        "amount in", db_column="amountIn", max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES
    )
    slippage_bps = models.PositiveIntegerField("slippage (bps)", db_column="slippageBps")
    order_type = models.CharField(
        "order type", db_column="orderType", max_length=16, choices=OrderType.choices
    )
    # Indexed with updatedAt (Meta.indexes): every query by status leads with it.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    dex = models.CharField("DEX", max_length=16, blank=True, default="")
    amount_out = models.DecimalField(
        "amount out",
        db_column="amountOut",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    min_amount_out = models.DecimalField(
        "minimum out",
        db_column="minAmountOut",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    executed_price = models.DecimalField(
        "executed price",
        db_column="executedPrice",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    # Resting orders: their condition and how long they may wait.
    limit_price = models.DecimalField(
        "limit price",
        db_column="limitPrice",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    stop_price = models.DecimalField(
        "stop price",
        db_column="stopPrice",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    expires_at = models.DateTimeField("expires at", db_column="expiresAt", null=True, blank=True)
    # ``attempts`` when the order was last triggered: a resting order's attempts count
    # from there, so a limit that rested again gets its full ORDER_MAX_ATTEMPTS.
    triggered_attempt = models.PositiveSmallIntegerField(
        "attempts before the last trigger", db_column="triggeredAttempt", default=0
    )
    tx_hash = models.CharField("tx hash", db_column="txHash", max_length=100, null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        "next attempt at", db_column="nextAttemptAt", null=True, blank=True
    )
    # The current attempt's routing decision (both quotes, the winner, the reason) and
    # its signed transaction: what a restarted worker needs to resume without re-sending.
    route = models.JSONField(null=True, blank=True)
    signed_tx = models.JSONField("signed tx", db_column="signedTx", null=True, blank=True)
    last_seq = models.PositiveIntegerField("last event seq", db_column="lastSeq", default=0)
    # Deliveries of its task that claimed the order (duplicates turned away by a live
    # lease are not counted); past ORDER_MAX_DELIVERIES the order is given up.
    deliveries = models.PositiveIntegerField(default=0)
    # Which delivery executes the order now, and until when unless it renews
    # (orders/leases.py). Null when nobody holds it.
    lease_owner = models.CharField(
        "lease holder", db_column="leaseOwner", max_length=200, null=True, blank=True
    )
    lease_until = models.DateTimeField("lease until", db_column="leaseUntil", null=True, blank=True)
    # When the recovery sweep last queued the order again: once per interval, not per sweep.
    requeued_at = models.DateTimeField("requeued at", db_column="requeuedAt", null=True, blank=True)
    dex_time_ms = models.FloatField(
        "time spent in DEX calls (ms)", db_column="dexTimeMs", default=0
    )
    # Unique through Meta.constraints: ``unique=True`` would add a second, LIKE-only index.
    idempotency_key = models.CharField(
        db_column="idempotencyKey", max_length=255, null=True, blank=True
    )
    request_fingerprint = models.CharField(
        db_column="requestFingerprint", max_length=64, blank=True, default=""
    )
    created_at = models.DateTimeField("created", db_column="createdAt", auto_now_add=True)
    updated_at = models.DateTimeField("updated", db_column="updatedAt", auto_now=True)
    finished_at = models.DateTimeField("finished", db_column="finishedAt", null=True, blank=True)

    TERMINAL = frozenset({Status.CONFIRMED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})
    IN_FLIGHT = frozenset({Status.ROUTING, Status.BUILDING, Status.SUBMITTED})
    # Before execution began: what a cancel or an expiry may still end.
    CANCELLABLE = frozenset({Status.PENDING, Status.WAITING})
    RESTING_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP, OrderType.SNIPER})
    # In flight with a worker on it, or waiting out a back-off before its next attempt:
    # the page's and /metrics' counters and the recovery sweep share these.
    EXECUTING = Q(status__in=IN_FLIGHT, next_attempt_at=None)
    WAITING_TO_RETRY = Q(status__in=IN_FLIGHT, next_attempt_at__isnull=False)

    objects = OrderQuerySet.as_manager()
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset(
            {Status.ROUTING, Status.FAILED, Status.WAITING, Status.CANCELLED}
        ),
        Status.WAITING: frozenset({Status.ROUTING, Status.CANCELLED, Status.EXPIRED}),
        Status.ROUTING: frozenset({Status.BUILDING, Status.FAILED, Status.ROUTING, Status.WAITING}),
        Status.BUILDING: frozenset(
            {Status.SUBMITTED, Status.FAILED, Status.ROUTING, Status.WAITING}
        ),
        Status.SUBMITTED: frozenset(
            {Status.CONFIRMED, Status.FAILED, Status.ROUTING, Status.WAITING}
        ),
        Status.CONFIRMED: frozenset(),
        Status.FAILED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.EXPIRED: frozenset(),
    }

    class Meta:
        db_table = "orders"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="orders_newest_first"),
            models.Index(fields=["status", "updated_at"], name="orders_status_updated"),
            # What the expiry pass reads: only orders that can still expire.
            models.Index(
                fields=["expires_at"],
                name="orders_expiring",
                condition=models.Q(status="waiting"),
            ),
            # What the price monitor reads every tick: resting orders changed lately.
            models.Index(
                fields=["updated_at"],
                name="orders_resting_changes",
                condition=models.Q(order_type__in=["limit", "stop", "sniper"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="orders_idempotency_key"),
            models.CheckConstraint(
                condition=models.Q(amount_in__gt=0), name="orders_amount_in_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(token_in=models.F("token_out")),
                name="orders_distinct_tokens",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount_in} {self.token_in}->{self.token_out} {self.status}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_resting(self) -> bool:
        return self.order_type in self.RESTING_TYPES


class OrderEvent(models.Model):
    """One status change of an order, numbered per order from 1 with no gaps."""

    # No index of its own: order_events_one_per_seq (order, seq) serves lookups by order.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    seq = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Order.Status.choices)
    at = models.DateTimeField()
    attempt = models.PositiveSmallIntegerField(default=0)
    dex = models.CharField(max_length=16, blank=True, default="")
    quotes = models.JSONField(null=True, blank=True)
    amount_out = models.DecimalField(
        db_column="amountOut",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    executed_price = models.DecimalField(
        db_column="executedPrice",
        null=True,
        blank=True,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
    )
    tx_hash = models.CharField(db_column="txHash", max_length=100, null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    # Why the DEX won, timings, the signed transaction's blockhash: anything else useful.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "order_events"
        ordering = ["order_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="order_events_one_per_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.status}"
