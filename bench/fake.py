"""A stand-in engine that does no work, to measure the load client's own ceiling.

``python -m bench.fake --port 8765`` answers the API the bench uses (POST execute, the
event stream, GET an order, /livez) instantly, so ``python -m bench engine --url
http://127.0.0.1:8765`` shows how many orders a second the client can drive and what
CPU it spends per order, with no engine in the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from websockets.utils import accept_key

STATUSES = ("pending", "routing", "building", "submitted", "confirmed")


def _frame(text: str) -> bytes:
    """One unmasked server-to-client text frame."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = bytes([0x81, size])
    elif size < 65536:
        head = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return head + payload


def _event(order_id: str, seq: int, status: str, now: float) -> dict[str, Any]:
    at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    details = {"quoteStartedAt": now, "quoteMs": 0.0} if status == "routing" else {}
    return {"orderId": order_id, "seq": seq, "status": status, "at": at, "attempt": 1,
            "dex": "meteora", "quotes": None, "amountOut": None, "executedPrice": None,
            "txHash": None, "error": None, "details": details}  # fmt: skip


class FakeEngine:
    def __init__(self) -> None:
        self.orders: dict[str, list[dict[str, Any]]] = {}
        self.streams: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._stream(headers, reader, writer)
                    return
                status, payload = self._route(method, path, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "POST" and path == "/api/orders/execute":
            order_id = str(uuid.uuid4())
            now = time.time()
            events = [_event(order_id, i, s, now) for i, s in enumerate(STATUSES, 1)]
            self.orders[order_id] = events
            asyncio.get_running_loop().call_soon(self._publish, events)
            return 201, {"orderId": order_id, "status": "pending"}
        if method == "GET" and path.startswith("/api/orders/"):
            order_id = path.rsplit("/", 1)[1]
            events = self.orders.get(order_id)
            if events is None:
                return 404, {"error": "no order"}
            return 200, {"orderId": order_id, "status": "confirmed", "attempts": 1,
                         "dexTimeMs": 0.0, "lastSeq": 5, "events": events}  # fmt: skip
        return 200, {"status": "ok"}

    def _publish(self, events: list[dict[str, Any]]) -> None:
        frames = b"".join(_frame(json.dumps(event)) for event in events)
        for writer in self.streams:
            writer.write(frames)

    async def _stream(
        self, headers: dict[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        accept = accept_key(headers["sec-websocket-key"])
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        self.streams.append(writer)
        try:
            await reader.read(2)  # the client's close frame (or EOF) ends the stream
        finally:
            self.streams.remove(writer)
            writer.write(b"\x88\x02\x03\xe8")  # close 1000
            writer.close()


async def _serve(port: int) -> None:
    engine = FakeEngine()
    server = await asyncio.start_server(engine.handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fake", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
