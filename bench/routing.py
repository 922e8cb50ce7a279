"""What smart routing costs and gains: ``python -m bench.routing``.

For each pair and sizes from 1 unit to the token's per-order maximum, on the real pool
math at one instant: the router's CPU per quote (``plan_route``: single pool, split,
hop) against the single-pool router (``choose_route`` on each DEX's quote), and the
output gained over the best single DEX. In process, no engine needed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal

from dex.errors import DexError
from dex.market import Market
from dex.router import choose_route
from dex.smart_router import plan_route, quotes_at
from dex.tokens import get_token
from dex.venues import build_venues

PAIRS = (("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "USDT"), ("BONK", "JUP"))


def sizes(symbol: str, points: int) -> list[Decimal]:
    top = get_token(symbol).max_amount
    low = Decimal(1) if symbol != "BONK" else Decimal(10**5)
    ratio = (top / low) ** (Decimal(1) / (points - 1))
    return [(low * ratio**i).quantize(Decimal(1)) for i in range(points)]


def cpu_ms(route: Callable[[float], object], t: float, repeat: int) -> float:
    """Median CPU of one routing, each at a new instant: no cached price walk helps it."""
    samples = []
    for index in range(repeat):
        started = time.process_time()
        route(t + (index + 1) * 0.001)
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    parser.add_argument("--points", type=int, default=7, help="sizes per pair")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    venues = list(build_venues(market=Market(42), quote_latency_s=0).values())
    t = time.time()
    print("| pair | size | route | out vs best single DEX | CPU smart / single-pool |")
    print("| --- | ---: | --- | ---: | ---: |")
    for token_in, token_out in PAIRS:
        for amount in sizes(token_in, args.points):

            def smart(at: float, a: str = token_in, b: str = token_out, x: Decimal = amount):
                return plan_route(
                    venues,
                    quotes=quotes_at(venues, a, b, x, at),
                    token_in=a,
                    token_out=b,
                    amount=x,
                    t=at,
                )

            def single_pool(at: float, a: str = token_in, b: str = token_out, x: Decimal = amount):
                return choose_route(quotes_at(venues, a, b, x, at))

            try:
                route = smart(t)
            except DexError:
                print(f"| {token_in}→{token_out} | {amount:,} | nothing can fill it | | |")
                continue
            single = route.chosen
            smart_ms = cpu_ms(smart, t, args.repeat)
            single_ms = cpu_ms(single_pool, t, args.repeat) if single else 0.0
            shape = " + ".join(
                f"{leg.percent}% {leg.quote.dex}" for leg in route.plan if leg.hop == 0
            )
            if route.plan[-1].hop:
                shape += f", then via {route.path[1]}"
            gain = (
                f"+{(route.out_amount / single.out_amount - 1) * 10_000:.1f} bps"
                if single
                else "no direct pool"
            )
            single_text = f"{single_ms:.2f} ms" if single else "—"
            print(
                f"| {token_in}→{token_out} | {amount:,} | {shape} | {gain} "
                f"| {smart_ms:.2f} / {single_text} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
