"""Drive orders through the public API and record what a client sees, with timestamps.

Timestamps are ``time.time()`` (wall clock) so they compare with the engine's event
times; the schedule itself runs on the event loop's monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.cpu import CpuProbe, system_busy_seconds
from bench.follow import SocketFollower
from bench.httpclient import HttpClient, HttpError
from bench.stream import StreamRecorder

ORDER_BODY = b'{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}'
# No order takes this long between two terminal events unless something is stuck.
IDLE_TIMEOUT_S = 60.0


@dataclass
class PostRecord:
    """One POST /api/orders/execute: when it was due, sent and answered, and the answer."""

    due: float
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    order_id: str | None = None
    error: str | None = None


@dataclass
class RunRecord:
    """Everything observed in one run, before analysis."""

    posts: list[PostRecord]
    messages: list[tuple[float, str]]
    details: dict[str, dict[str, Any]]
    window: tuple[float, float]
    all_terminal: bool
    client_cpu_s: float
    machine_busy_s: float  # all processes of the machine, same window as the CPU figures
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    stream_closed: str | None = None
    serial: bool = False
    # The clients scenario: what the status sockets delivered (``messages`` are theirs),
    # and what the firehose delivered meanwhile, beside them.
    sockets: dict[str, int] | None = None
    firehose_messages: list[tuple[float, str]] | None = None


async def _post(client: HttpClient, request: bytes, record: PostRecord) -> None:
    record.sent = time.time()
    try:
        response = await client.send(request)
    except HttpError as exc:
        record.answered = time.time()
        record.error = str(exc)
        return
    record.answered = time.time()
    record.status = response.status
    if response.status == 201:
        record.order_id = json.loads(response.body)["orderId"]
    else:
        record.error = response.body[:200].decode(errors="replace")


async def _post_on_schedule(client: HttpClient, offsets: list[float]) -> list[PostRecord]:
    """POST one order at each offset (seconds from now); all zeros is a burst."""
    request = client.encode("POST", "/api/orders/execute", ORDER_BODY)
    loop = asyncio.get_running_loop()
    start_mono, start_wall = loop.time(), time.time()
    records = [PostRecord(due=start_wall + offset) for offset in offsets]

    async def one(offset: float, record: PostRecord) -> None:
        delay = start_mono + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await _post(client, request, record)

    await asyncio.gather(
        *(one(offset, record) for offset, record in zip(offsets, records, strict=True))
    )
    return records


async def fetch_details(client: HttpClient, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """GET each order (dexTimeMs and the stored events are only in the detail view)."""

    async def one(order_id: str) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await client.request("GET", f"/api/orders/{order_id}")
        except HttpError:
            return order_id, None
        return order_id, json.loads(response.body) if response.status == 200 else None

    results = await asyncio.gather(*(one(order_id) for order_id in order_ids))
    return {order_id: detail for order_id, detail in results if detail is not None}


class Driver:
    """One client process: an HTTP pool and the event stream, opened before any POST."""

    def __init__(self, base_url: str, ws_url: str, connections: int, probe: CpuProbe | None):
        self.base_url = base_url
        self.ws_url = ws_url
        self.connections = connections
        self.probe = probe
        # Called once the load is over, before details are fetched (stops a profiler).
        self.on_loaded: Callable[[], None] | None = None

    async def run(self, offsets: list[float], *, limit_s: float) -> RunRecord:
        """Open-loop load: every order is sent at its offset whatever the engine does."""
        return await self._measure(
            lambda client, stream: self._open_loop(client, stream, offsets, limit_s)
        )

    async def run_serial(self, count: int, *, limit_s: float) -> RunRecord:
        """Closed loop of one: each order is sent after the previous one finished."""
        record = await self._measure(
            lambda client, stream: self._serial(client, stream, count, limit_s)
        )
        record.serial = True
        return record

    async def run_clients(self, count: int, *, clients: int, limit_s: float) -> RunRecord:
        """Closed loop of ``clients``: each POSTs, follows its order's socket, repeats."""
        follower = SocketFollower(self.ws_url)
        return await self._measure(
            lambda client, stream: self._clients(client, follower, count, clients, limit_s),
            follower=follower,
        )

    async def _clients(
        self,
        client: HttpClient,
        follower: SocketFollower,
        count: int,
        clients: int,
        limit_s: float,
    ) -> tuple[list[PostRecord], bool]:
        request = client.encode("POST", "/api/orders/execute", ORDER_BODY)
        posts: list[PostRecord] = []
        deadline = time.monotonic() + limit_s

        async def one_client() -> None:
            while len(posts) < count:
                record = PostRecord(due=time.time())
                posts.append(record)
                await _post(client, request, record)
                left = deadline - time.monotonic()
                if record.order_id is not None and left > 0:
                    await follower.follow(record.order_id, limit_s=min(left, IDLE_TIMEOUT_S))

        await asyncio.gather(*(one_client() for _ in range(clients)))
        ids = [post.order_id for post in posts if post.order_id]
        return posts, all(order_id in follower.terminal_at for order_id in ids)

    async def _open_loop(
        self, client: HttpClient, stream: StreamRecorder, offsets: list[float], limit_s: float
    ) -> tuple[list[PostRecord], bool]:
        posts = await _post_on_schedule(client, offsets)
        ids = [post.order_id for post in posts if post.order_id]
        done = await stream.wait_all(ids, idle_s=IDLE_TIMEOUT_S, limit_s=limit_s)
        return posts, done

    async def _serial(
        self, client: HttpClient, stream: StreamRecorder, count: int, limit_s: float
    ) -> tuple[list[PostRecord], bool]:
        request = client.encode("POST", "/api/orders/execute", ORDER_BODY)
        posts: list[PostRecord] = []
        for _ in range(count):
            record = PostRecord(due=time.time())
            await _post(client, request, record)
            posts.append(record)
            if record.order_id is None:
                continue
            try:
                await asyncio.wait_for(
                    stream.terminal(record.order_id), min(limit_s, IDLE_TIMEOUT_S)
                )
            except TimeoutError:
                return posts, False
        return posts, True

    async def _measure(self, body: Any, *, follower: SocketFollower | None = None) -> RunRecord:
        client = HttpClient(self.base_url, self.connections)
        stream = StreamRecorder(self.ws_url)
        await stream.start()
        # Open the pool's connections first: their set-up is not an order's cost.
        await asyncio.gather(*(client.request("GET", "/livez") for _ in range(self.connections)))
        before = self.probe.snapshot() if self.probe else None
        cpu_before = time.process_time()
        busy_before = system_busy_seconds()
        started = time.time()
        try:
            posts, done = await body(client, stream)
            ids = [post.order_id for post in posts if post.order_id]
            seen = follower or stream
            finished = max(
                (seen.terminal_at[i] for i in ids if i in seen.terminal_at),
                default=time.time(),
            )
            client_cpu = time.process_time() - cpu_before
            machine_busy = system_busy_seconds() - busy_before
            spent = self.probe.spent(before, self.probe.snapshot()) if self.probe and before else {}
            if follower is not None:
                # The firehose gets a moment to deliver the last terminal events it owes.
                await stream.wait_all(ids, idle_s=2.0, limit_s=10.0)
            closed = stream.closed_reason
            if self.on_loaded is not None:
                self.on_loaded()
            await stream.stop()
            details = await fetch_details(client, ids)
        finally:
            await client.aclose()
        return RunRecord(
            posts=posts,
            messages=follower.messages if follower else stream.messages,
            details=details,
            window=(started, finished),
            all_terminal=done,
            client_cpu_s=client_cpu,
            machine_busy_s=machine_busy,
            server_cpu_s=spent,
            stream_closed=closed,
            sockets=follower.summary() if follower else None,
            firehose_messages=stream.messages if follower else None,
        )
