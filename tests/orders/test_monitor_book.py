"""The monitor's book: the right orders come out, and far ones cost nothing per tick."""

from __future__ import annotations

import random
import time
from decimal import Decimal

from dex.market import Market
from dex.venues import build_venues
from orders.monitor.book import RestingBook, RestingOrder, size_bucket
from orders.monitor.loop import PriceMonitor, TickReport
from orders.monitor.prices import ExecutablePrices


def order(pk: int, kind: str, price: str | None, amount: str = "1.5", pair=("SOL", "USDC")):
    return RestingOrder(
        pk=pk,
        last_seq=2,
        order_type=kind,
        token_in=pair[0],
        token_out=pair[1],
        amount=Decimal(amount),
        trigger_price=None if price is None else Decimal(price),
        expires_at=time.time() + 3600,
    )


def test_size_buckets_are_powers_of_two():
    assert size_bucket(Decimal("1")) == 0
    assert size_bucket(Decimal("1.5")) == 0
    assert size_bucket(Decimal("2")) == 1
    assert size_bucket(Decimal("0.3")) == -2


def test_upsert_and_remove_keep_the_index_consistent():
    book = RestingBook()
    book.upsert(order(1, "limit", "150"))
    book.upsert(order(2, "stop", "100"))
    book.upsert(order(3, "sniper", None, pair=("USDC", "NOVA")))
    book.upsert(order(1, "limit", "160"))  # the same order again, changed
    assert len(book) == 3
    group = book.pairs[("SOL", "USDC")].groups[0]
    assert group.limits.keys == [(160.0, 1)]
    assert group.limits.at_most(159.0) == [] and group.limits.at_most(160.0) == [1]
    assert group.stops.at_least(100.0) == [2] and group.stops.at_least(100.5) == []
    for pk in (1, 2, 3):
        book.remove(pk)
    assert book.pairs == {} and len(book) == 0


class FakeMonitor(PriceMonitor):
    def __init__(self, venues) -> None:  # no database: the book is filled by hand
        self.book = RestingBook()
        self.venues = venues


def test_only_orders_near_their_trigger_are_priced_and_exactly_the_due_ones_come_out():
    venues = build_venues(market=Market(11), quote_latency_s=0)
    prices = ExecutablePrices(venues, time.time())
    monitor = FakeMonitor(venues)
    rng = random.Random(5)
    spot = prices.price("SOL", "USDC", Decimal("1.5"))
    assert spot is not None
    due: set[int] = set()
    for pk in range(1, 5001):
        amount = Decimal(rng.choice(["0.5", "1.5", "3", "10", "40"]))
        if pk % 100 == 0:  # a few close to the price, on both sides
            limit = spot * Decimal(rng.choice(["0.9", "1.2"]))
        else:  # the rest far from it
            limit = spot * Decimal(rng.choice(["1.5", "2", "3"]))
        monitor.book.upsert(order(pk, "limit", f"{limit:.6f}", f"{amount}"))
        exact = prices.price("SOL", "USDC", amount)
        if exact is not None and exact >= Decimal(f"{limit:.6f}"):
            due.add(pk)
    report = TickReport()
    found = {trigger.order.pk for trigger in monitor.due(prices, report)}
    assert found == due and len(due) > 0
    # Far orders are never priced one by one: only what lies below a group's bound.
    assert report.priced <= 100, report.priced
