"""A lean HTTP/1.1 client: a pool of keep-alive connections on asyncio streams.

Python HTTP libraries spend several milliseconds of CPU per request; at a few hundred
orders a second that would make the client, not the engine, the bottleneck. Requests
here are pre-encoded bytes and responses are parsed only as far as status and body.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 we can read."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> Response:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise HttpError(f"bad status line {lines[0][:80]!r}") from None
        length = -1
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return Response(status, await self._read_chunked())
        if length < 0:
            raise HttpError("response has neither Content-Length nor chunked encoding")
        return Response(status, await self.reader.readexactly(length))

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class HttpClient:
    """Up to ``size`` keep-alive connections to one host; requests wait for a free one."""

    def __init__(self, base_url: str, size: int) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._authority = f"{self.host}:{self.port}".encode()
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(size)

    def encode(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The request's bytes, built once when the same request is sent many times."""
        head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._authority]
        if body is not None:
            head.append(b"Content-Type: application/json")
            head.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(head) + b"\r\n\r\n" + (body or b"")

    async def send(self, request: bytes, *, retry: bool = False) -> Response:
        """Send pre-encoded bytes. ``retry`` once on a stale connection (safe for GETs only)."""
        async with self._slots:
            for attempt in (1, 2):
                connection = self._idle.pop() if self._idle else await self._open()
                try:
                    response = await connection.exchange(request)
                except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
                    connection.close()
                    if retry and attempt == 1:
                        continue
                    raise HttpError(f"{type(exc).__name__}: {exc}") from exc
                self._idle.append(connection)
                return response
        raise AssertionError("unreachable")

    async def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        return await self.send(self.encode(method, path, body), retry=method == "GET")

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()
        self._idle.clear()
