"""The embedded PostgreSQL (pgserver) under .run/, and making sure a database exists."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from launcher.console import LauncherError, log, redact
from launcher.paths import ROOT
from launcher.processes import pid_alive


def ensure_database(url: str, wait_s: float) -> None:
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
        raise LauncherError(f"DATABASE_URL is not a PostgreSQL URL: {exc}") from None
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
                raise LauncherError(
                    f"database {name!r} does not exist and this user may not create it"
                ) from None
            except psycopg.OperationalError as exc:
                last_error = exc
        if time.monotonic() >= deadline:
            message = (str(last_error).strip() or repr(last_error)).splitlines()[0]
            raise LauncherError(f"cannot reach PostgreSQL at {redact(url)}: {message}")
        time.sleep(0.5)


def is_our_postmaster(pid: int, pgdata: Path) -> bool:
    """True if `pid` is a postgres serving `pgdata` (not a recycled pid of something else)."""
    import psutil  # type: ignore[import-untyped]

    try:
        proc = psutil.Process(pid)
        is_postgres = proc.name() in ("postgres", "postmaster")
        return is_postgres and str(pgdata) in " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # cannot tell; let PostgreSQL itself decide


def repair_pgdata(pgdata: Path) -> None:
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
        if not (pid and is_our_postmaster(pid, pgdata)):
            log("removing stale postmaster.pid left by an earlier run")
            pid_file.unlink(missing_ok=True)
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = None  # half-written: pgserver would crash parsing it
        live = [pid for pid in pids or [] if isinstance(pid, int) and pid_alive(pid)]
        if live != pids:
            handles.write_text(json.dumps(live))


def import_pgserver() -> Any:
    """Import pgserver quietly (platformdirs warns when XDG_RUNTIME_DIR is unset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            raise LauncherError("pgserver is not installed; set DATABASE_URL") from None
    return pgserver


@dataclass
class EmbeddedPostgres:
    """A pgserver PostgreSQL this session joined; ``stop()`` leaves it to other sessions."""

    server: Any
    pid: int
    url: str
    note: str
    data_dir: Path

    def alive(self) -> bool:
        return pid_alive(self.pid)

    def stop(self) -> None:
        # pgserver stops the server only if no other session (pid) still uses it.
        self.server.cleanup()


def start_embedded_postgres(*, data_dir: Path, database: str) -> EmbeddedPostgres:
    """Start (or join) pgserver's PostgreSQL in ``data_dir`` and create ``database``."""
    pgserver = import_pgserver()
    # pgserver's own inter-process lock (private API): no other session may be starting
    # or stopping this server while we tidy its directory.
    with pgserver.PostgresServer._lock:
        repair_pgdata(data_dir)
    started = time.monotonic()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except (subprocess.SubprocessError, AssertionError, OSError) as exc:
        raise LauncherError(
            f"embedded PostgreSQL did not start ({exc!r}); see {data_dir / 'log'}; "
            f"`rm -rf {data_dir}` starts afresh (and discards the local database)"
        ) from None
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise LauncherError("embedded PostgreSQL reports no Unix socket directory")
    # The socket directory as a percent-encoded host: both libpq and dj-database-url read
    # it (as HOST), and unlike ?host= it keeps Django's HOST setting meaningful.
    url = f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}/{database}"
    if info.port and info.port != 5432:
        url += f"?port={info.port}"
    ensure_database(url, 5.0)
    note = (
        f"embedded PostgreSQL (pgserver), data {data_dir.relative_to(ROOT)}, "
        f"socket {info.socket_dir}, ready in {time.monotonic() - started:.1f} s"
    )
    return EmbeddedPostgres(server=server, pid=info.pid, url=url, note=note, data_dir=data_dir)
