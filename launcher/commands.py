"""The engine's process command lines, spelled once.

`make run`, the bench and the tests start these with the virtualenv's Python
(``python -m daphne …``, ``python manage.py price_monitor``); the Procfile, render.yaml,
docker-compose.yml and the Dockerfile name the same programs with the same arguments
(``deployed()``), and tests/test_deployment.py keeps those files in step with this module.
"""

from __future__ import annotations

import sys

from launcher.paths import MANAGE_PY

ASGI_APPLICATION = "engine_project.asgi:application"
CELERY_APP = "engine_project"
# Connections the kernel holds for daphne until it accepts them. With Twisted's default
# of 50, one run of `bench clients --clients 1000` saw 1,263 of its 3,000 POSTs reset;
# Linux caps the number at net.core.somaxconn (4096 here).
LISTEN_BACKLOG = 4096


def _program(name: str, python: str | None) -> list[str]:
    """``python -m name`` for a process we start; the bare program in deployment files."""
    return [python, "-m", name] if python else [name]


def web_command(
    *, port: int | str, bind: str = "0.0.0.0", python: str | None = sys.executable
) -> list[str]:
    """daphne serves HTTP and the WebSockets on one port (a Twisted endpoint string: the
    only way daphne takes a listen backlog)."""
    endpoint = f"tcp:port={port}:interface={bind}:backlog={LISTEN_BACKLOG}"
    return [*_program("daphne", python), "-e", endpoint, ASGI_APPLICATION]


def worker_command(
    *,
    concurrency: int | None = None,
    node_name: str | None = None,
    queue: str | None = None,
    beat_schedule: str | None = None,
    log_level: str = "INFO",
    alone: bool = False,
    python: str | None = sys.executable,
) -> list[str]:
    """A Celery worker; ``beat_schedule`` embeds beat (one machine only); ``alone`` skips
    the start-up chatter with other workers (gossip, mingle) that a private test or bench
    worker has no use for."""
    argv = [*_program("celery", python), "-A", CELERY_APP, "worker"]
    if beat_schedule is not None:
        argv += ["--beat", "--schedule", beat_schedule]
    argv += ["-l", log_level]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if queue is not None:
        argv += ["-Q", queue]
    if node_name is not None:
        argv += ["-n", node_name]
    if alone:
        argv += ["--without-gossip", "--without-mingle"]
    return argv


def beat_command(
    *, schedule: str | None = None, log_level: str = "INFO", python: str | None = sys.executable
) -> list[str]:
    """The scheduler of the recovery sweep: exactly one per deployment."""
    argv = [*_program("celery", python), "-A", CELERY_APP, "beat", "-l", log_level]
    if schedule is not None:
        argv += ["--schedule", schedule]
    return argv


def monitor_command(*, python: str | None = sys.executable) -> list[str]:
    """The price monitor: triggers and expires resting orders (two at once are safe)."""
    if python is None:
        return ["python", "manage.py", "price_monitor"]
    return [python, str(MANAGE_PY), "price_monitor"]


def deployed() -> dict[str, list[str]]:
    """What each deployment file runs for each process kind (``$PORT`` from the platform)."""
    return {
        "web": web_command(port="$PORT", python=None),
        "worker": worker_command(python=None),
        "beat": beat_command(python=None),
        "monitor": monitor_command(python=None),
    }
