"""Executable prices from the pools as they stand: what an order of a given size gets.

The monitor reads pool state directly, the way a real one subscribes to pool accounts,
instead of asking each DEX for a quote (``DEX_QUOTE_LATENCY_MS``): a price move reaches
a trigger within one tick. The routing decision is the router's own (``plan_route``:
a single pool, a split or a hop) on the same pools an order's fill is computed from.
"""

from __future__ import annotations

from decimal import Decimal

from dex.errors import DexError
from dex.router import Route
from dex.smart_router import plan_route, quotes_at
from dex.tokens import get_token
from dex.venues import SimulatedDex


class ExecutablePrices:
    """Prices at one moment ``t``; answers are kept for the tick."""

    def __init__(self, venues: dict[str, SimulatedDex], t: float) -> None:
        self.venues = venues
        self.t = t
        self._routes: dict[tuple[str, str, Decimal], Route | None] = {}

    def has_pool(self, token_in: str, token_out: str) -> bool:
        return any(venue.has_pool(token_in, token_out, self.t) for venue in self.venues.values())

    def route(self, token_in: str, token_out: str, amount: Decimal) -> Route | None:
        """The router's choice for this size now, or None when nothing can fill it."""
        amount = amount.quantize(get_token(token_in).unit)
        key = (token_in, token_out, amount)
        if key not in self._routes:
            self._routes[key] = self._route(token_in, token_out, amount)
        return self._routes[key]

    def price(self, token_in: str, token_out: str, amount: Decimal) -> Decimal | None:
        """Output per unit of input for the whole amount, net of fees and impact."""
        route = self.route(token_in, token_out, amount)
        return None if route is None else route.price

    def _route(self, token_in: str, token_out: str, amount: Decimal) -> Route | None:
        if amount <= 0:
            return None
        venues = list(self.venues.values())
        try:
            return plan_route(
                venues,
                quotes=quotes_at(venues, token_in, token_out, amount, self.t),
                token_in=token_in,
                token_out=token_out,
                amount=amount,
                t=self.t,
            )
        except DexError:
            return None
