"""How the admin shows an order: amounts at the token's precision, times to the
millisecond, the route as the DEXes' quotes side by side, time spent in each status."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dex.tokens import UnknownTokenError, get_token
from orders.payloads import iso_ms


def at_precision(amount: Decimal | None, symbol: str) -> str:
    """``amount`` with exactly the token's decimals (what a wallet shows), or "—"."""
    if amount is None:
        return "—"
    try:
        unit = get_token(symbol).unit
    except UnknownTokenError:
        return format(amount.normalize(), "f")
    return format(amount.quantize(unit), "f")


def ms_time(value: datetime | None) -> str:
    return iso_ms(value) or "—"


def duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


_QUOTE_ROWS = (
    ("out", "outAmount"),
    ("price", "price"),
    ("fee (bps)", "feeBps"),
    ("impact (%)", "priceImpactPct"),
    ("min out", "minOutAmount"),
    ("pool", "pool"),
)


def route_table(route: dict[str, Any] | None) -> SafeString:
    """Each DEX's single-pool quote in a column, the winner marked, the router's reason
    below, then the route plan: each leg with its share (a split, a hop, or one pool)."""
    if not route or not route.get("quotes"):
        return format_html("<span>{}</span>", "not routed yet")
    quotes: dict[str, dict[str, Any]] = route["quotes"]
    winner = route.get("dex")
    names = list(quotes)
    head = format_html_join(
        "",
        "<th>{}{}</th>",
        ((name, " ★ winner" if name == winner else "") for name in names),
    )
    rows = format_html_join(
        "",
        "<tr><th>{}</th>{}</tr>",
        (
            (
                label,
                format_html_join(
                    "",
                    "<td>{}</td>",
                    (
                        (
                            quotes[name].get("error", "—")
                            if "error" in quotes[name]
                            else quotes[name].get(key, "—"),
                        )
                        for name in names
                    ),
                ),
            )
            for label, key in _QUOTE_ROWS
        ),
    )
    plan = route.get("routePlan") or []
    legs = format_html_join(
        "",
        "<li>{}% of {} → {} via {} ({}): {} {}</li>",
        (
            (
                leg["percent"],
                leg["inputToken"],
                leg["outputToken"],
                leg["dex"],
                leg["pool"],
                leg["outAmount"],
                leg["outputToken"],
            )
            for leg in plan
        ),
    )
    return format_html(
        '<table class="route-quotes"><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody>'
        '</table><p>{}</p><p>path: {} · minimum out: {}</p><ol class="route-plan">{}</ol>',
        head,
        rows,
        route.get("reason") or "",
        route.get("path") or "—",
        route.get("minAmountOut") or "—",
        legs,
    )
