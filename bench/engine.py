"""Spawn an engine for one scenario: daphne plus N Celery worker processes ("hosts").

Each worker is a separate ``celery worker`` (one process with its order threads, or a
master and its children with ``ORDER_WORKER_POOL=prefork``), as on a second machine;
they share PostgreSQL, Redis and a queue named for this run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.services import BenchServices
from launcher.commands import web_command, worker_command
from launcher.processes import free_port, spawn_group, stop_groups

START_TIMEOUT_S = 90.0
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class EngineKnobs:
    """The engine's environment for a scenario (names as in the README's table)."""

    workers: int = 1
    concurrency: int = 10
    quote_ms: float = 200.0
    execute_ms: str = "2000-3000"
    failure_rate: float = 0.0
    seed: int | None = None
    log_level: str = "WARNING"

    @property
    def slots(self) -> int:
        return self.workers * self.concurrency

    def env(self) -> dict[str, str]:
        values = {
            "ORDER_CONCURRENCY": str(self.concurrency),
            "DEX_QUOTE_LATENCY_MS": f"{self.quote_ms:g}",
            "DEX_EXECUTE_LATENCY_MS": self.execute_ms,
            "DEX_FAILURE_RATE": f"{self.failure_rate:g}",
            # The bench is one client IP submitting far more than a person would.
            "ORDER_SUBMIT_RATE": "1000000/min",
            # ... and, in the clients scenario, holds a status socket per order in flight.
            "WS_MAX_SOCKETS_PER_CLIENT": "100000",
            "LOG_LEVEL": self.log_level,
        }
        if self.seed is not None:
            values["DEX_SEED"] = str(self.seed)
        return values


class SpawnedEngine:
    """Start with ``start()``, stop with ``stop()``; logs go to ``logs_dir``."""

    def __init__(self, knobs: EngineKnobs, services: BenchServices, logs_dir: Path) -> None:
        self.knobs = knobs
        self.port = free_port()
        self.queue = f"bench-{os.getpid()}-{self.port}"
        self.logs_dir = logs_dir
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._env = {
            **os.environ,
            **knobs.env(),
            "DJANGO_SETTINGS_MODULE": "engine_project.settings",
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "ORDER_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def web_pid(self) -> int:
        assert self.web is not None
        return self.web.pid

    @property
    def worker_pids(self) -> list[int]:
        return [worker.pid for worker in self.workers]

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with (self.logs_dir / f"{name}.log").open("wb") as log:
            # Its own group, so stop() reaches its children; it dies with us.
            return spawn_group(argv, env=self._env, output=log)

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.web = self._spawn("web", web_command(port=self.port, bind="127.0.0.1"))
        for index in range(1, self.knobs.workers + 1):
            argv = worker_command(
                concurrency=self.knobs.concurrency,
                queue=self.queue,
                node_name=f"bench{index}-{self.port}@%h",
                log_level=self.knobs.log_level,
                alone=True,
            )
            self.workers.append(self._spawn(f"worker{index}", argv))
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Until /healthz counts every worker: only then can the run start at full speed."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            for proc in [self.web, *self.workers]:
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(
                        f"{proc.args[2:4]} exited with {proc.returncode}; see {self.logs_dir}"
                    )
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=5) as answer:
                    body = json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                body = json.loads(exc.read() or b"{}")
            except OSError as exc:
                body = {"error": str(exc)}
            if body.get("workers", 0) >= self.knobs.workers and "down" not in body:
                return
            last = json.dumps(body)
            time.sleep(0.3)
        raise RuntimeError(f"engine not ready in {START_TIMEOUT_S:.0f} s: {last}")

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL each process group that lingers.

        A second Ctrl-C during the warm shutdown must not skip the SIGKILLs: SIGINT is
        ignored until every group is gone.
        """
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            self._stop()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _stop(self) -> None:
        processes = [proc for proc in [self.web, *self.workers] if proc is not None]
        stop_groups(processes, grace_s=STOP_GRACE_S)
