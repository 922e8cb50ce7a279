"""Real processes and real faults: a private redis-server, a PostgreSQL TCP proxy that can
go dark, daphne and Celery workers in their own process groups, and WebSocket followers.

Every wait here has a deadline; nothing sleeps for a fixed time unless the fault itself
is "be down for N seconds".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dex.network import MockNetwork
from launcher.commands import web_command, worker_command
from launcher.processes import free_port, spawn_group
from orders.models import Order, OrderEvent
from tests.e2e.conftest import LiveEngine

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"confirmed", "failed"}
ENGINE_SEED = 11
BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 1000}


def wait_until(predicate: Callable[[], Any], what: str, timeout: float, every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# --- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """A subprocess that leads its own process group (start_new_session=True)."""

    name: str
    popen: subprocess.Popen
    log: Path
    ready: Callable[[], bool] = lambda: True
    is_ready: bool = False

    @property
    def pgid(self) -> int:
        return self.popen.pid  # session leader: pgid == pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(self.text().splitlines()[-lines:])

    def group_members(self) -> list[int]:
        """Live (non-zombie) processes of this group, read from /proc."""
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...; comm may hold spaces: split after the last ')'.
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == self.pgid and fields[0] != "Z":
                members.append(int(entry.name))
        return members

    def kill_group(self, sig: int = signal.SIGKILL, timeout: float = 10) -> None:
        """Signal the whole group (the main process and every child) and wait until gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        wait_until(lambda: not self.group_members(), f"{self.name}'s group to exit", timeout)

    def stop(self, grace: float = 8) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
        if self.group_members() or self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (self.alive() or self.group_members()):
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


def spawn(name: str, args: list[str], env: dict[str, str], logs: Path) -> Proc:
    """A process leading its own group (killpg reaches every child) that dies with pytest."""
    log = logs / f"{name}.log"
    with log.open("ab") as out:  # the child keeps its own descriptor
        popen = spawn_group(args, env=env, output=out)
    return Proc(name, popen, log)


class RedisServer:
    """A private, memory-only redis-server on a free port that can be killed and restarted."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)

    def start(self) -> None:
        self.starts += 1
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.logs)]
        self.proc = spawn(f"redis-{self.starts}", args, dict(os.environ), self.logs)

        def answers() -> bool:
            assert self.proc is not None and self.proc.alive(), self.proc and self.proc.tail()
            try:
                with self.client() as client:
                    return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, f"redis-server on port {self.port}", timeout=10)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill_group(signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=3)


class TcpProxy:
    """A TCP proxy in front of PostgreSQL that can refuse and drop every connection.

    ``down()`` closes the listening socket (new connections are refused, as when the
    server is down) and cuts every open connection both ways; ``up()`` listens again.
    ``upstream`` is ``(host, port)`` or the path of a Unix socket (embedded PostgreSQL).
    """

    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener: socket.socket | None = None
        self.accepted = 0
        self.cut = 0
        # Added before every chunk PostgreSQL sends back: a slow database, not a dead one.
        self.reply_delay_s = 0.0

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = list(self._pairs), set()
        if listener is not None:
            listener.close()
        for pair in pairs:
            self.cut += 1
            self._close(pair)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            pair = (client, server)
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    self._close(pair)
                    return
                self._pairs.add(pair)
                self.accepted += 1
            for source, target, slow in ((client, server, False), (server, client, True)):
                threading.Thread(
                    target=self._pump, args=(source, target, pair, slow), daemon=True
                ).start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.settimeout(5)
            try:
                server.connect(self.upstream)
            except OSError:
                server.close()
                raise
            return server
        return socket.create_connection(self.upstream, timeout=5)

    def url(self, database_url: str) -> str:
        """``database_url`` (as tests.e2e's test_database_url builds it) through this proxy."""
        parts = urlsplit(database_url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    def _pump(self, source: socket.socket, target: socket.socket, pair: Any, slow: bool) -> None:
        try:
            while data := source.recv(65536):
                if slow and self.reply_delay_s:
                    time.sleep(self.reply_delay_s)
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            self._close(pair)

    @staticmethod
    def _close(pair: Iterable[socket.socket]) -> None:
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class Cluster:
    """Engine processes (daphne, Celery workers) on one database, one Redis, one queue."""

    logs: Path
    database_url: str
    redis_url: str
    queue: str
    processes: list[Proc] = field(default_factory=list)
    base: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "engine_project.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ORDER_QUEUE": self.queue,
            "ORDER_CONCURRENCY": "10",
            "DEX_QUOTE_LATENCY_MS": "50",
            "DEX_EXECUTE_LATENCY_MS": "400-600",
            "DEX_FAILURE_RATE": "0",
            "DEX_SEED": str(ENGINE_SEED),
            "ORDER_RETRY_BACKOFF_S": "0.2",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(self.base)
        env.update(overrides)
        return env

    def start_web(self, *, wait: bool = True, **overrides: str) -> LiveEngine:
        port = free_port()
        env = self.env(**overrides)
        proc = spawn("web", web_command(port=port, bind="127.0.0.1"), env, self.logs)
        engine = LiveEngine(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", env, self.logs)

        def up() -> bool:
            try:
                with urllib.request.urlopen(engine.base_url + "/livez", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        proc.ready = up
        self.processes.append(proc)
        if wait:
            self.wait_ready()
        return engine

    def start_worker(
        self,
        name: str,
        *,
        concurrency: int = 10,
        beat: bool = False,
        wait: bool = True,
        host: str | None = None,
        **overrides: str,
    ) -> Proc:
        """A Celery worker; with ``host`` it runs under that host name (its own UTS namespace),
        as a worker on another machine would."""
        env = self.env(ORDER_CONCURRENCY=str(concurrency), **overrides)
        args = worker_command(
            concurrency=concurrency,
            node_name=f"{name}-{os.getpid()}@%h",
            beat_schedule=str(self.logs / f"{name}-beat-schedule") if beat else None,
            alone=True,
        )
        if host is not None:
            args = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *args]
        proc = spawn(name, args, env, self.logs)
        proc.ready = lambda: " ready." in proc.text()
        self.processes.append(proc)
        if wait:
            self.wait_ready()
        return proc

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until every started process serves (daphne) or is ready (workers)."""
        pending = [proc for proc in self.processes if not proc.is_ready]

        def all_ready() -> bool:
            for proc in pending:
                if not proc.is_ready:
                    assert proc.alive(), f"{proc.name} exited early\n{proc.tail()}"
                    proc.is_ready = bool(proc.ready())
            return all(proc.is_ready for proc in pending)

        wait_until(all_ready, ", ".join(proc.name for proc in pending), timeout, every=0.1)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM every process group at once; SIGKILL what is left after ``grace`` s."""
        running = [proc for proc in self.processes if proc.alive() or proc.group_members()]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in running:
            proc.kill_group(signal.SIGKILL)

    def tails(self) -> str:
        return "\n".join(proc.tail() for proc in self.processes)


# --- orders --------------------------------------------------------------------------------


def post_orders(engine: LiveEngine, count: int, body: dict[str, Any] | None = None) -> list[str]:
    """POST ``count`` orders at once; returns their ids."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(count, 20)) as pool:
        answers = list(
            pool.map(
                lambda _: engine.request("POST", "/api/orders/execute", body or BODY), range(count)
            )
        )
    assert all(status == 201 for status, _ in answers), answers
    return [answer["orderId"] for _, answer in answers]


def statuses(order_ids: Iterable[str]) -> dict[str, str]:
    return dict(
        Order.objects.filter(public_id__in=list(order_ids)).values_list("public_id", "status")
    )


def wait_all_terminal(order_ids: list[str], timeout: float, cluster: Cluster) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        now = {str(key): value for key, value in statuses(order_ids).items()}
        if len(now) == len(order_ids) and set(now.values()) <= TERMINAL:
            return now
        if time.monotonic() >= deadline:
            stuck = {key: value for key, value in now.items() if value not in TERMINAL}
            raise AssertionError(
                f"{len(stuck)} orders not terminal after {timeout} s: {stuck}\n{cluster.tails()}"
            )
        time.sleep(0.1)


def network_of(redis_url: str) -> MockNetwork:
    """The mock network as the engine sees it (same seed, same venues) on the given Redis."""
    from orders.gateway import DexGateway

    client = redis.Redis.from_url(redis_url)
    return DexGateway.build(
        client=client,
        seed=ENGINE_SEED,
        quote_latency_s=0.0,
        execute_latency_s=(0.0, 0.0),
        failure_rate=0.0,
    ).network


def check_story(order_id: str) -> tuple[Order, list[OrderEvent]]:
    """The invariants every order keeps whatever failed around it; returns order and events.

    - events numbered 1..n with no gap or repeat, each a legal transition from the last;
    - the row agrees with its last event (status) and its count (lastSeq);
    - exactly one terminal event, and it is the last;
    - per attempt: one routing, at most one building and one submitted; the submitted
      txHash is the signature built for that attempt (one transaction per attempt);
    - confirmed: the row's and the event's txHash are that attempt's transaction, with a
      fill; failed: the reason is stored.
    """
    order = Order.objects.get(public_id=order_id)
    events = list(OrderEvent.objects.filter(order=order).order_by("seq"))
    seqs = [event.seq for event in events]
    assert seqs == list(range(1, len(events) + 1)), (order_id, seqs)
    assert order.last_seq == len(events), (order_id, order.last_seq, len(events))
    assert order.status == events[-1].status, (order_id, order.status, events[-1].status)
    assert events[0].status == "pending"
    for before, after in itertools.pairwise(events):
        assert after.status in Order.TRANSITIONS[before.status], (order_id, before, after)
    terminal = [event for event in events if event.status in TERMINAL]
    assert len(terminal) == 1, (order_id, [event.status for event in events])

    per_attempt: dict[int, dict[str, list[OrderEvent]]] = {}
    for event in events[1:]:
        per_attempt.setdefault(event.attempt, {}).setdefault(event.status, []).append(event)
    for attempt, by_status in per_attempt.items():
        for status in ("routing", "building", "submitted"):
            assert len(by_status.get(status, [])) <= 1, (order_id, attempt, status)
        if by_status.get("submitted"):
            submitted = by_status["submitted"][0]
            assert submitted.tx_hash, (order_id, attempt)
            building = by_status["building"][0]
            assert submitted.tx_hash == building.details["signature"], (order_id, attempt)

    last = events[-1]
    if last.status == "confirmed":
        submitted = per_attempt[last.attempt]["submitted"][0]
        assert last.tx_hash == submitted.tx_hash == order.tx_hash, order_id
        assert order.amount_out and order.amount_out > 0
        assert (order.signed_tx or {}).get("signature") == order.tx_hash
    else:
        assert order.error, order_id
    return order, events


def submitted_hashes(events: list[OrderEvent]) -> set[str]:
    return {event.tx_hash for event in events if event.status == "submitted" and event.tx_hash}


# --- WebSocket clients ---------------------------------------------------------------------


@dataclass
class Stream:
    messages: list[dict[str, Any]]
    close_code: int | None
    timed_out: bool


class SocketWatch:
    """WebSocket clients on an event loop in a background thread.

    ``follow(url)`` connects (blocking until connected) and reads until the server
    closes, ``until(messages)`` says enough, or ``timeout``; ``.result()`` on the returned
    future gives a ``Stream``. ``hold(url, max_queue=1)`` connects a client that never
    reads. The test thread stays free to kill processes and poll the database.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.held: list[ClientConnection] = []

    def __enter__(self) -> SocketWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        async def shut() -> None:
            for socket_ in self.held:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket_.close(), 2)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def follow(
        self,
        url: str,
        *,
        timeout: float = 60,
        until: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> concurrent.futures.Future[Stream]:
        connected: concurrent.futures.Future[None] = concurrent.futures.Future()
        future = asyncio.run_coroutine_threadsafe(
            self._follow(url, timeout, until, connected), self.loop
        )
        connected.result(timeout=15)
        return future

    async def _follow(
        self,
        url: str,
        timeout: float,
        until: Callable[[list[dict[str, Any]]], bool] | None,
        connected: concurrent.futures.Future[None],
    ) -> Stream:
        try:
            socket_ = await connect(url, open_timeout=10)
        except BaseException as exc:
            connected.set_exception(exc)
            raise
        connected.set_result(None)
        messages: list[dict[str, Any]] = []
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                async for raw in socket_:
                    messages.append(json.loads(raw))
                    if until is not None and until(messages):
                        break
        except TimeoutError:
            timed_out = True
        except ConnectionClosed:
            pass
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket_.close(), 2)
        return Stream(messages, socket_.close_code, timed_out)

    def hold(self, url: str, *, max_queue: int = 1) -> None:
        async def open_() -> None:
            socket_ = await connect(url, open_timeout=10, max_queue=max_queue)
            self.held.append(socket_)

        asyncio.run_coroutine_threadsafe(open_(), self.loop).result(15)


def raw_websocket_that_never_reads(ws_url: str, path: str) -> socket.socket:
    """Complete a WebSocket handshake over a tiny receive buffer, then never read again."""
    host, port = ws_url.removeprefix("ws://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # byte by byte: leave every frame after the headers unread
        assert chunk, f"handshake closed: {answer!r}"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def unsent_bytes(sock: socket.socket) -> int:
    """Bytes the peer (the server) has queued towards ``sock`` but not yet delivered.

    Read from /proc/net/tcp: the server side of this connection is the entry whose local
    address is our peer and whose remote address is us; its tx_queue is what it could not
    send because we stopped reading.
    """

    def hexaddr(address: tuple[str, int]) -> str:
        host = socket.inet_aton(address[0])[::-1].hex().upper()
        return f"{host}:{address[1]:04X}"

    try:
        server, client = hexaddr(sock.getpeername()), hexaddr(sock.getsockname())
    except OSError:
        return -1  # the server closed the connection
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == server and fields[2] == client:
            return int(fields[4].split(":")[0], 16)
    return 0


def create_orders(count: int) -> list[Order]:
    """Orders stored as the API stores them, but not queued: the test publishes the tasks."""
    from orders.notifications import NullNotifier
    from orders.services.creation import order_create
    from orders.services.order_queue import NullOrderQueue

    return [
        order_create(
            token_in="SOL",
            token_out="USDC",
            amount=Decimal("1.5"),
            slippage_bps=1000,
            notifier=NullNotifier(),
            queue=NullOrderQueue(),
        )[0]
        for _ in range(count)
    ]


def publish_execute(cluster: Cluster, order_pks: Iterable[int], copies: int = 1) -> None:
    """Publish execute_order(pk) ``copies`` times per order to the cluster's broker and queue."""
    from engine_project.celery import app
    from orders.tasks import execute_order

    with app.connection_for_write(cluster.redis_url) as conn, conn.Producer() as producer:
        for pk in order_pks:
            for _ in range(copies):
                execute_order.apply_async((pk,), queue=cluster.queue, producer=producer)


def kill_pool_children(worker: Proc) -> list[int]:
    """SIGKILL every prefork child of a worker, leaving its main process alive."""
    children = [pid for pid in worker.group_members() if pid != worker.pgid]
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return children


def deliveries(order_id: str) -> int:
    return int(Order.objects.values_list("deliveries", flat=True).get(public_id=order_id))
