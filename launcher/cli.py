"""`python -m launcher run|test|manage|env`: what `make run`, `make test` and
`make superuser` do.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when those are set (CI, Docker,
shared servers). Otherwise private servers are started under .run/ -- pgserver's
PostgreSQL on a Unix socket and a redis-server on a free loopback port -- and stopped
on exit, so a fresh clone needs only Python 3.11.

Usage (with the virtualenv's python):
  run                  migrate, collectstatic, then daphne + celery worker (with beat)
                       + the price monitor
  test [PYTEST ARGS]   pytest against the services, with a Chromium and a Node.js found
                       or installed first (launcher/browser.py, node.py); pytest's exit code
  manage ARGS...       manage.py ARGS (e.g. createsuperuser)
  env                  print the service URLs, keep the services up until Ctrl-C
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from launcher import browser, node
from launcher.commands import monitor_command, web_command, worker_command
from launcher.console import LauncherError, log
from launcher.paths import MANAGE_PY, RUN_DIR
from launcher.processes import (
    StopRequest,
    Supervisor,
    exit_code,
    port_open,
    run_foreground,
    signals_handled,
)
from launcher.services import Services, services_running

# Celery's warm shutdown lets in-flight swaps (2-3 s each) finish; this bounds the wait.
SHUTDOWN_GRACE_S = 30.0
WEB_READY_WAIT_S = 60.0


def env_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """Read an integer knob, refusing bad values before anything starts."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LauncherError(f"{name}={raw!r} is not an integer") from None
    if not minimum <= value <= maximum:
        raise LauncherError(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def manage_command(*args: str) -> list[str]:
    return [sys.executable, str(MANAGE_PY), *args]


def _banner(port: int, concurrency: int, services: Services) -> None:
    url = f"http://localhost:{port}/"
    lines = [
        "",
        "=" * 78,
        " Order execution engine is up",
        f"   App        {url}",
        f"   Admin      {url}admin/   (no login yet? `make superuser`)",
        f"   Health     {url}healthz",
        f"   Orders     POST {url}api/orders/execute",
        f"   Worker     Celery, {concurrency} orders at once (ORDER_CONCURRENCY), with beat",
        "   Monitor    price monitor: triggers limit, stop and sniper orders",
        f"   PostgreSQL {services.database_note}",
        f"   Redis      {services.redis_note}",
        " Ctrl-C stops everything this command started.",
        "=" * 78,
        "",
    ]
    print("\n".join(lines), flush=True)


def _refuse_taken_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            raise LauncherError(
                f"port {port} is already in use: stop what holds it or set PORT"
            ) from None


def cmd_run(args: list[str]) -> int:
    """migrate, collectstatic, then daphne, a celery worker (with beat) and the price
    monitor, until a signal or a crash."""
    if args:
        raise LauncherError(f"run takes no arguments (got {' '.join(args)})")
    port = env_int("PORT", 8000, 1, 65535)
    concurrency = env_int("ORDER_CONCURRENCY", 10, 1, 512)
    _refuse_taken_port(port)
    with services_running() as services:
        env = services.child_env()
        for step in (
            ("migrate", "--noinput"),
            ("collectstatic", "--noinput", "--verbosity", "0"),
        ):
            code = run_foreground(manage_command(*step), env)
            if code != 0:
                log(f"manage.py {step[0]} failed with exit code {code}")
                return code
        stop = StopRequest()
        supervisor = Supervisor(env)
        with signals_handled(stop):
            try:
                supervisor.start("web", web_command(port=port))
                # One worker with beat embedded (the recovery sweep): fine for one machine.
                schedule = str(RUN_DIR / "celerybeat-schedule")
                supervisor.start(
                    "worker", worker_command(concurrency=concurrency, beat_schedule=schedule)
                )
                supervisor.start("monitor", monitor_command())
                code = _watch(supervisor, services, stop, port=port, concurrency=concurrency)
            finally:
                supervisor.stop(SHUTDOWN_GRACE_S, stop)
    log("stopped")
    return code


def _watch(
    supervisor: Supervisor, services: Services, stop: StopRequest, *, port: int, concurrency: int
) -> int:
    """Until a signal (0) or a child or server dies (its code, or 1); announce once ready."""
    ready_deadline = time.monotonic() + WEB_READY_WAIT_S
    announced = False
    while stop.count == 0:
        exited = supervisor.first_exit()
        if exited is not None:
            name, code = exited
            log(f"{name} exited with code {code}: stopping everything")
            return exit_code(code) or 1
        problem = services.dead()
        if problem is not None:
            log(f"{problem}: stopping everything")
            return 1
        if not announced and port_open(port):
            announced = True
            _banner(port, concurrency, services)
        elif not announced and time.monotonic() > ready_deadline:
            announced = True
            log(f"nothing accepts connections on port {port} yet; waiting")
        time.sleep(0.2)
    return 0


def cmd_test(args: list[str]) -> int:
    """pytest with the services' URLs, a Chromium (CHROMIUM_PATH) and a Node.js (NODE).

    Both are found or installed first, for every run: a missing one stops us here with
    one line instead of failing the browser or module tests one by one.
    """
    try:
        chromium = browser.ensure_browser(log)
        node_binary = node.ensure_node(log)
    except (browser.BrowserError, node.NodeError) as exc:
        raise LauncherError(str(exc)) from None
    with services_running() as services:
        env = services.child_env()
        env["CHROMIUM_PATH"] = chromium
        env["NODE"] = node_binary
        return run_foreground([sys.executable, "-m", "pytest", *args], env, cwd=Path.cwd())


def cmd_manage(args: list[str]) -> int:
    """manage.py ARGS with the services up (e.g. `make superuser`)."""
    if not args:
        raise LauncherError("usage: python -m launcher manage COMMAND [ARGS...]")
    with services_running() as services:
        return run_foreground(manage_command(*args), services.child_env())


def cmd_env(args: list[str]) -> int:
    """Print the URLs for a debugging shell; the embedded servers live until Ctrl-C."""
    if args:
        raise LauncherError("env takes no arguments")
    with services_running() as services:
        database_url = shlex.quote(services.database_url)
        redis_url = shlex.quote(services.redis_url)
        print(f"export DATABASE_URL={database_url} REDIS_URL={redis_url}", flush=True)
        log("services are up; Ctrl-C stops them")
        stop = StopRequest()
        with signals_handled(stop):
            while stop.count == 0:
                problem = services.dead()
                if problem is not None:
                    log(problem)
                    return 1
                time.sleep(0.5)
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": cmd_run,
    "test": cmd_test,
    "manage": cmd_manage,
    "env": cmd_env,
}


def _raise_system_exit(signum: int, _frame: FrameType | None) -> None:
    """Default for SIGTERM/SIGHUP: unwind normally so `finally` blocks stop the servers."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"unknown command {argv[0]!r}\n{__doc__}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_system_exit)
    signal.signal(signal.SIGHUP, _raise_system_exit)
    try:
        return command(argv[1:])
    except LauncherError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
