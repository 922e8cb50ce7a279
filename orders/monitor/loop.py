"""The monitor's tick: expire what is due, catch up with the database, trigger.

Each tick reads the resting orders changed since the last one (a partial index on
``updatedAt`` for resting types), so the book follows placements, cancels, expiries and
limits that rested again without reading the whole book. Triggers go through
``order_trigger``: a compare-and-set, then the order is queued for the same Celery
execution market orders use.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from dex.router import Route
from dex.tokens import get_token
from orders.gateway import DexGateway
from orders.models import Order
from orders.monitor.book import RestingBook, RestingOrder
from orders.monitor.prices import ExecutablePrices
from orders.notifications import Notifier
from orders.services.order_queue import OrderQueue
from orders.services.resting import TriggeredBy, order_trigger, orders_expire_due

logger = logging.getLogger(__name__)

# Rows changed this long before the last read are read again: writers' clocks (their
# ``updatedAt``) may run behind ours, and a transaction may commit after its timestamp.
CATCH_UP_MARGIN = timedelta(seconds=2)
# Expiry is looked for every few ticks (at 50 ms, every 200 ms): well within a second.
EXPIRE_EVERY_TICKS = 4
_FIELDS = (
    "pk",
    "last_seq",
    "status",
    "order_type",
    "token_in",
    "token_out",
    "amount_in",
    "limit_price",
    "stop_price",
    "expires_at",
)


@dataclass
class TickReport:
    expired: int = 0
    changed: int = 0
    priced: int = 0
    triggered: int = 0
    lost: int = 0
    ms: float = 0.0


@dataclass(frozen=True)
class Trigger:
    order: RestingOrder
    route: Route
    price: Decimal | None
    what: str


class PriceMonitor:
    def __init__(
        self,
        *,
        gateway: DexGateway,
        notifier: Notifier,
        queue: OrderQueue,
    ) -> None:
        self.gateway = gateway
        self.notifier = notifier
        self.queue = queue
        self.book = RestingBook()
        self._read_since: datetime | None = None
        self._ticks = 0

    # --- the book -------------------------------------------------------------------

    def catch_up(self) -> int:
        """Apply the resting orders changed since the last read; returns how many."""
        started = timezone.now()
        rows = Order.objects.filter(order_type__in=Order.RESTING_TYPES)
        if self._read_since is None:
            rows = rows.filter(status=Order.Status.WAITING)
        else:
            rows = rows.filter(updated_at__gte=self._read_since - CATCH_UP_MARGIN)
        changed = 0
        for row in rows.values_list(*_FIELDS).iterator(chunk_size=5000):
            changed += self._apply(row)
        self._read_since = started
        return changed

    def _apply(self, row: tuple[Any, ...]) -> int:
        pk, last_seq, status, order_type, token_in, token_out, amount, limit, stop, expires = row
        if status != Order.Status.WAITING:
            return 1 if self.book.remove(pk) is not None else 0
        known = self.book.get(pk)
        if known is not None and known.last_seq == last_seq:
            return 0
        self.book.upsert(
            RestingOrder(
                pk=pk,
                last_seq=last_seq,
                order_type=order_type,
                token_in=token_in,
                token_out=token_out,
                amount=amount,
                trigger_price=limit if order_type == Order.OrderType.LIMIT else stop,
                expires_at=expires.timestamp(),
            )
        )
        return 1

    # --- what triggers --------------------------------------------------------------

    def due(self, prices: ExecutablePrices, report: TickReport) -> list[Trigger]:
        """The orders whose condition holds at ``prices.t``.

        Two prices per pair bound the whole pair (at its smallest and largest size); a
        size group is priced on its own only when some of its orders lie inside those
        bounds, and an order one by one only inside its group's.
        """
        found: list[Trigger] = []
        for (token_in, token_out), pair_book in self.book.pairs.items():
            if pair_book.snipers and prices.has_pool(token_in, token_out):
                for pk in list(pair_book.snipers):
                    found += self._check(prices, pk, report)
            if not pair_book.groups:
                continue
            # Rounding an output down to its unit lowers the price of an order of size s
            # by less than unit / s: the bounds are widened by that for the smallest s.
            unit = float(get_token(token_out).unit)
            groups = pair_book.groups.values()
            smallest = min(group.smallest for group in groups)
            largest = max(group.largest for group in groups)
            slack = unit / float(smallest)
            pair = (token_in, token_out)
            pair_best = self._bound(prices, pair, smallest, +slack, math.inf)
            pair_worst = self._bound(prices, pair, largest, -slack, 0.0)
            for group in groups:
                slack = unit / float(group.smallest)
                if group.limits.at_most(pair_best):
                    # Nothing in the group gets more than its smallest size does.
                    ceiling = self._bound(prices, pair, group.smallest, +slack, math.inf)
                    for pk in group.limits.at_most(ceiling):
                        found += self._check(prices, pk, report)
                if group.stops.at_least(pair_worst):
                    # Nothing in the group gets less than its largest size does.
                    floor = self._bound(prices, pair, group.largest, -slack, 0.0)
                    for pk in group.stops.at_least(floor):
                        found += self._check(prices, pk, report)
        return found

    @staticmethod
    def _bound(
        prices: ExecutablePrices, pair: tuple[str, str], size: Decimal, slack: float, unknown: float
    ) -> float:
        """The price at ``size`` widened by ``slack``; ``unknown`` when the pools cannot
        fill that size (then no bound: every order of the range is looked at)."""
        price = prices.price(pair[0], pair[1], size)
        return unknown if price is None else float(price) + slack

    def _check(self, prices: ExecutablePrices, pk: int, report: TickReport) -> list[Trigger]:
        order = self.book.get(pk)
        if order is None or order.expires_at <= prices.t:
            return []  # expiring: the expiry pass ends it
        report.priced += 1
        route = prices.route(order.token_in, order.token_out, order.amount)
        if route is None:
            return []
        price = route.price
        shown = f"{price.quantize(Decimal('1e-9')).normalize():f}"
        size = f"{order.amount.normalize():f} {order.token_in}"
        limit = order.trigger_price
        if order.order_type == "limit" and limit is not None and price >= limit:
            what = f"executable price {shown} >= limit {limit.normalize():f} for {size}"
        elif order.order_type == "stop" and limit is not None and price <= limit:
            what = f"executable price {shown} <= stop {limit.normalize():f} for {size}"
        elif order.order_type == "sniper":
            what = f"pool {route.pool} opened; executable price {shown} for {size}"
        else:
            return []
        return [Trigger(order, route, price, what)]

    def fire(self, triggers: list[Trigger], *, at: datetime, quote_ms: float) -> int:
        """Claim the orders for execution; returns how many this monitor won.

        One read of their rows and one transaction for the lot: a commit per trigger
        would put a disk flush per order between a price move and the last one's
        ``routing`` event. Each claim is still its own compare-and-set; one lost to a
        cancel, an expiry or another monitor changes nothing.
        """
        for trigger in triggers:
            self.book.remove(trigger.order.pk)
        rows = Order.objects.in_bulk([trigger.order.pk for trigger in triggers])
        now = timezone.now()
        won = 0
        with transaction.atomic():
            for trigger in triggers:
                order = rows.get(trigger.order.pk)
                if order is None or order.status != Order.Status.WAITING:
                    continue
                if order.expires_at is not None and order.expires_at <= now:
                    continue  # the expiry pass ends it
                won += order_trigger(
                    order=order,
                    route=trigger.route,
                    triggered_by=TriggeredBy(price=trigger.price, at=at, what=trigger.what),
                    quote_ms=quote_ms,
                    notifier=self.notifier,
                    queue=self.queue,
                )
        return won

    # --- the loop -------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        started = time.perf_counter()
        self._ticks += 1
        if self._ticks % EXPIRE_EVERY_TICKS == 1:
            report.expired = len(orders_expire_due(notifier=self.notifier))
        report.changed = self.catch_up()
        now = time.time()
        priced_at = time.perf_counter()
        prices = ExecutablePrices(self.gateway.venues, now)
        due = self.due(prices, report)
        quote_ms = (time.perf_counter() - priced_at) * 1000
        if due:
            at = datetime.fromtimestamp(now, tz=UTC)
            report.triggered = self.fire(due, at=at, quote_ms=quote_ms)
            report.lost = len(due) - report.triggered
        report.ms = (time.perf_counter() - started) * 1000
        return report

    def run(self, *, tick_s: float, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; a database outage is waited out, not fatal."""
        logger.info("price monitor started: tick %.0f ms", tick_s * 1000)
        last_note = time.monotonic()
        loaded = False
        while not stop.is_set():
            begun = time.monotonic()
            try:
                report = self.tick()
            except DatabaseError:
                logger.exception("price monitor: database unavailable; retrying")
                close_old_connections()
                # What the book holds may no longer be what the database does (a claim
                # cut short): read it whole again once the database answers.
                self.book = RestingBook()
                self._read_since = None
                stop.wait(1.0)
                continue
            if not loaded:
                loaded = True
                logger.info(
                    "price monitor: book loaded, %d orders resting (%.0f ms)",
                    len(self.book),
                    report.ms,
                )
            if report.triggered or report.expired:
                logger.info(
                    "price monitor: %d triggered, %d expired, %d lost to others (%.1f ms)",
                    report.triggered,
                    report.expired,
                    report.lost,
                    report.ms,
                )
            if time.monotonic() - last_note > 60:
                last_note = time.monotonic()
                logger.info("price monitor: %d orders resting", len(self.book))
            stop.wait(max(0.0, tick_s - (time.monotonic() - begun)))
        logger.info("price monitor stopped")
