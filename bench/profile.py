"""Sample the engine's processes with py-spy while the load runs, and say where time goes.

py-spy is not a dependency of the bench (``pip install py-spy`` to use ``--profile``).
Only samples that hold the GIL count, so shares are shares of the Python CPU time of
the process (which the GIL bounds at one core).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

SAMPLE_RATE_HZ = 50


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    """One ``py-spy record`` per target pid (with its children), stopped by SIGINT."""

    def __init__(self, out_dir: Path, targets: dict[str, int]) -> None:
        self.out_dir = out_dir
        self.targets = targets
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in self.targets.items():
            argv = [binary, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE_HZ)]
            # --gil: only samples holding the GIL, i.e. Python code using the CPU; a
            # thread waiting on a socket is not counted (py-spy's idle test misses some).
            argv += ["--subprocesses", "--nonblocking", "--gil", "--format", "raw"]
            argv += ["-o", str(self.out_dir / f"{name}.txt")]
            log = (self.out_dir / f"{name}.py-spy.log").open("wb")
            self._procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
            log.close()

    def stop(self) -> None:
        for proc in self._procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _frame_name(frame: str) -> str:
    """``handle (django/core/handlers/base.py:197)`` → ``handle (django/core/handlers/base.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


_AREAS = (
    ("psycopg", "PostgreSQL driver (psycopg)"),
    ("django/db", "Django ORM"),
    ("rest_framework", "DRF"),
    ("django/", "Django (other)"),
    ("channels_redis", "channel layer (channels_redis)"),
    ("channels/", "Channels"),
    ("redis/", "redis-py"),
    ("kombu", "Celery/kombu"),
    ("celery", "Celery/kombu"),
    ("billiard", "Celery/kombu"),
    ("twisted", "daphne/twisted"),
    ("autobahn", "daphne/twisted"),
    ("daphne", "daphne/twisted"),
    ("asgiref", "asgiref (sync/async bridge)"),
    ("logging", "logging"),
    ("json", "json"),
    ("dex/", "engine: dex/"),
    ("orders/", "engine: orders/"),
    ("importlib/metadata", "importlib.metadata (entry points)"),
    ("pathlib", "importlib.metadata (entry points)"),
    ("concurrent/futures", "threads (per-request executors)"),
    ("threading", "threads (per-request executors)"),
    ("asyncio", "asyncio"),
)


def _area(frame: str) -> str:
    for marker, area in _AREAS:
        if marker in frame:
            return area
    return "other"


# Functions whose inclusive share answers "what does the engine spend its time on":
# the request path, connection set-up, thread hops, the stream and the transitions.
WATCH = (
    "OrderExecuteView.post",
    "order_create",
    "CeleryOrderQueue.enqueue",
    "Celery._get_backend",
    "BaseDatabaseWrapper.connect",
    "aclose_old_connections",
    "MiddlewareMixin.__acall__",
    "ThreadPoolExecutor.submit",
    "EventHub._read",
    "EventHub._dispatch",
    "OrderStatusConsumer.connect",
    "OrderFeedConsumer.order_event",
    "execute_order",
    "order_execute",
    "order_transition",
    "QuerySet.update",
    "QuerySet.first",
    "Model.save",
    "Atomic.__exit__",
    "DjangoWorkerFixup.on_task_prerun",
    "DjangoWorkerFixup.on_task_postrun",
    "StreamNotifier._send",
    "find_best_route",
    "MockNetwork.status",
    "MockNetwork.submit",
)


def summarize(path: Path, top: int = 15) -> dict[str, object]:
    """Self time by function and by library (the leaf frame's), plus inclusive time of the
    engine's own functions, as shares of all samples."""
    watched: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    text = path.read_text() if path.exists() else ""  # py-spy writes nothing if it failed
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            frame
            for frame in stack.split(";")
            if " (" in frame and not frame.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += count
        leaf[_frame_name(frames[-1])] += count
        areas[_area(frames[-1])] += count
        for name in {_frame_name(frame) for frame in frames}:
            inclusive[name] += count
        for name in {frame.split(" (", 1)[0] for frame in frames} & set(WATCH):
            watched[name] += count

    def share(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(count / max(total, 1), 4)) for name, count in counter.most_common(n)]

    return {
        "samples": total,
        "selfByArea": share(areas, len(areas)),
        "selfByFunction": share(leaf, top),
        "inclusive": share(inclusive, top * 3),
        "watched": {
            name: round(watched[name] / max(total, 1), 4) for name in WATCH if watched[name]
        },
    }
