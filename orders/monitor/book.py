"""The waiting orders, indexed so that a tick costs what is near its trigger, not the book.

Orders are grouped by pair and by size (a power of two of the amount). Within a group,
limits and stops are sorted by their price. The executable price falls as the size
grows (fees, then impact), so one group's prices lie between the price at its smallest
and at its largest size: a limit above the first cannot fill and a stop below the
second cannot trigger. Only the orders between those bounds are priced one by one.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from decimal import Decimal

Pair = tuple[str, str]


@dataclass(slots=True)
class RestingOrder:
    pk: int
    last_seq: int
    order_type: str  # limit | stop | sniper
    token_in: str
    token_out: str
    amount: Decimal
    # The limit or stop price; None for a sniper.
    trigger_price: Decimal | None
    expires_at: float  # epoch seconds

    @property
    def pair(self) -> Pair:
        return (self.token_in, self.token_out)


def size_bucket(amount: Decimal) -> int:
    """Orders between 2**b and 2**(b+1) share bucket b."""
    return math.floor(math.log2(float(amount)))


@dataclass
class SortedSide:
    """(price, pk) kept in order; the price as a float is only an index key."""

    keys: list[tuple[float, int]] = field(default_factory=list)

    def add(self, price: Decimal, pk: int) -> None:
        bisect.insort(self.keys, (float(price), pk))

    def remove(self, price: Decimal, pk: int) -> None:
        key = (float(price), pk)
        index = bisect.bisect_left(self.keys, key)
        if index < len(self.keys) and self.keys[index] == key:
            del self.keys[index]

    def at_most(self, bound: float) -> list[int]:
        """Orders whose price is at most ``bound`` (a hair over, for float rounding)."""
        if bound == math.inf:
            return [pk for _, pk in self.keys]
        end = bisect.bisect_right(self.keys, (bound * (1 + 1e-9), math.inf))
        return [pk for _, pk in self.keys[:end]]

    def at_least(self, bound: float) -> list[int]:
        start = bisect.bisect_left(self.keys, (bound * (1 - 1e-9), -1))
        return [pk for _, pk in self.keys[start:]]

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class SizeGroup:
    """One pair's orders of one size bucket."""

    bucket: int
    limits: SortedSide = field(default_factory=SortedSide)
    stops: SortedSide = field(default_factory=SortedSide)

    def __len__(self) -> int:
        return len(self.limits) + len(self.stops)

    @property
    def smallest(self) -> Decimal:
        return Decimal(2) ** self.bucket

    @property
    def largest(self) -> Decimal:
        return Decimal(2) ** (self.bucket + 1)


@dataclass
class PairBook:
    groups: dict[int, SizeGroup] = field(default_factory=dict)
    snipers: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return sum(len(group) for group in self.groups.values()) + len(self.snipers)


class RestingBook:
    def __init__(self) -> None:
        self.orders: dict[int, RestingOrder] = {}
        self.pairs: dict[Pair, PairBook] = {}

    def __len__(self) -> int:
        return len(self.orders)

    def __contains__(self, pk: int) -> bool:
        return pk in self.orders

    def get(self, pk: int) -> RestingOrder | None:
        return self.orders.get(pk)

    def upsert(self, order: RestingOrder) -> None:
        self.remove(order.pk)
        self.orders[order.pk] = order
        book = self.pairs.setdefault(order.pair, PairBook())
        if order.order_type == "sniper" or order.trigger_price is None:
            book.snipers.add(order.pk)
            return
        bucket = size_bucket(order.amount)
        group = book.groups.setdefault(bucket, SizeGroup(bucket))
        side = group.limits if order.order_type == "limit" else group.stops
        side.add(order.trigger_price, order.pk)

    def remove(self, pk: int) -> RestingOrder | None:
        order = self.orders.pop(pk, None)
        if order is None:
            return None
        book = self.pairs[order.pair]
        if order.trigger_price is None:
            book.snipers.discard(pk)
        else:
            bucket = size_bucket(order.amount)
            group = book.groups[bucket]
            side = group.limits if order.order_type == "limit" else group.stops
            side.remove(order.trigger_price, pk)
            if not len(group):
                del book.groups[bucket]
        if not len(book):
            del self.pairs[order.pair]
        return order
