"""What the terminal demos share: an HTTP helper and an order followed over its socket."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

STATUS_STYLE = {
    "pending": "grey62",
    "routing": "cyan",
    "building": "magenta",
    "submitted": "yellow",
    "confirmed": "bold green",
    "failed": "bold red",
    "waiting": "dark_cyan",
    "cancelled": "grey50",
    "expired": "grey50",
}
TERMINAL = {"confirmed", "failed", "cancelled", "expired"}


@dataclass
class Tracked:
    order_id: str
    submitted_at: float
    status: str = "pending"
    attempt: int = 0
    dex: str | None = None
    quotes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    amount_out: str | None = None
    tx_hash: str | None = None
    error: str | None = None
    finished_at: float | None = None
    events: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        self.events += 1
        self.status = event["status"]
        self.attempt = event.get("attempt") or self.attempt
        if event.get("quotes"):
            self.quotes = event["quotes"]
            self.dex = event.get("dex")
            self.reason = (event.get("details") or {}).get("reason", "")
        self.amount_out = event.get("amountOut") or self.amount_out
        self.tx_hash = event.get("txHash") or self.tx_hash
        self.error = event.get("error") or self.error
        if self.status in TERMINAL:
            self.finished_at = time.monotonic()


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
