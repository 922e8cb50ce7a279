"""Child processes: free ports, process groups that die with us, signals, supervision.

Every long-running child leads its own process group (``start_new_session``), so a stop
reaches what it forked (Celery's pool), and asks the kernel to SIGTERM it if we die
(``die_with_parent``), so a killed launcher leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

from launcher.console import log
from launcher.paths import ROOT

_PR_SET_PDEATHSIG = 1
_LIBC: Any = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        # Loaded before any fork: the child must not load libraries between fork and exec.
        _LIBC = ctypes.CDLL(None, use_errno=True)

SignalHandler = Callable[[int, FrameType | None], Any]


def die_with_parent() -> None:
    """Runs in each forked child: if the launcher is SIGKILLed its children still get SIGTERM."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A loopback port nobody listens on right now (callers retry on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """True once something accepts TCP connections on 127.0.0.1:port."""
    with (
        contextlib.suppress(OSError),
        socket.create_connection(("127.0.0.1", port), timeout=0.5),
    ):
        return True
    return False


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exit_code(returncode: int) -> int:
    """Shell convention: a child killed by signal N exits 128+N."""
    return 128 - returncode if returncode < 0 else returncode


@contextlib.contextmanager
def signals_handled(handler: SignalHandler) -> Iterator[None]:
    """Route SIGINT/SIGTERM/SIGHUP to ``handler`` for a while, then restore what was there."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def spawn_group(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path = ROOT,
    output: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """A long-running child leading its own process group, which dies with us."""
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def stop_groups(
    processes: list[subprocess.Popen[bytes]],
    *,
    grace_s: float,
    stop_early: Callable[[], bool] = lambda: False,
) -> list[subprocess.Popen[bytes]]:
    """SIGTERM each group leader (Celery's master then finishes in-flight orders), wait up
    to ``grace_s`` (or until ``stop_early()``), then SIGKILL each whole group: that also
    reaches pool processes a killed master leaves behind. Returns those still running
    when the grace ran out."""
    running = [proc for proc in processes if proc.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    deadline = time.monotonic() + grace_s
    while any(proc.poll() is None for proc in running):
        if time.monotonic() >= deadline or stop_early():
            break
        time.sleep(0.1)
    lingering = [proc for proc in processes if proc.poll() is None]
    for proc in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return lingering


def run_foreground(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> int:
    """Run an interactive child (pytest, createsuperuser) in our process group and wait.

    The terminal sends Ctrl-C to the child as well as to us, so we let the child decide
    what it means; SIGTERM/SIGHUP sent to us alone are passed on.
    """
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, preexec_fn=die_with_parent)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGINT and proc.poll() is None:
            proc.send_signal(signum)

    with signals_handled(forward):
        return exit_code(proc.wait())


class StopRequest:
    """Counts SIGINT/SIGTERM/SIGHUP: the first asks for a graceful stop, the second forces it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            log(f"{signal.Signals(signum).name} received: stopping")
        else:
            log("stopping now")


class Supervisor:
    """The long-running children of `run`, each in its own group so we order their shutdown."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str]) -> None:
        self.children[name] = spawn_group(cmd, env=self.env)

    def first_exit(self) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self, grace_s: float, stop: StopRequest) -> None:
        """A graceful stop that one more signal than the one that started it cuts short."""
        running = [name for name, proc in self.children.items() if proc.poll() is None]
        if running:
            log(f"letting in-flight work finish, up to {grace_s:.0f} s (Ctrl-C: now)")
        forced_at = stop.count + 1
        lingering = stop_groups(
            list(self.children.values()),
            grace_s=grace_s,
            stop_early=lambda: stop.count >= forced_at,
        )
        for name, proc in self.children.items():
            if proc in lingering:
                log(f"{name} did not stop in time: killed it")
