"""CPU time of process trees from /proc, so figures cover Celery's prefork children too.

A process's own utime/stime miss its children, and a child that exits takes its time to
the parent's cutime/cstime only once reaped; summing live descendants plus the root's
reaped-children fields counts both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class _Stat:
    ppid: int
    own: float  # utime + stime, seconds
    reaped: float  # cutime + cstime, seconds


def _read_stat(pid: int) -> _Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return _Stat(
        ppid=int(fields[1]), own=(utime + stime) / _TICKS, reaped=(cutime + cstime) / _TICKS
    )


def _all_stats() -> dict[int, _Stat]:
    stats: dict[int, _Stat] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _read_stat(int(name))
            if stat is not None:
                stats[int(name)] = stat
    return stats


def tree_cpu_seconds(roots: Iterable[int]) -> dict[int, float]:
    """CPU seconds used so far by each root and all of its descendants (live or reaped)."""
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    totals: dict[int, float] = {}
    for root in roots:
        if root not in stats:
            totals[root] = 0.0
            continue
        total = stats[root].reaped
        stack = [root]
        while stack:
            pid = stack.pop()
            total += stats[pid].own
            stack.extend(children.get(pid, ()))
        totals[root] = total
    return totals


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (Celery's pool children for the profiler)."""
    stats = _all_stats()
    found: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        kids = [child for child, stat in stats.items() if stat.ppid == pid]
        found.extend(kids)
        stack.extend(kids)
    return found


@dataclass
class CpuSnapshot:
    trees: dict[str, float]
    redis: float | None


class CpuProbe:
    """Reads the CPU of process trees by role ("web", "workers", "postgres") and of the
    Redis server, so a run's cost is the difference of two snapshots."""

    def __init__(
        self,
        trees: dict[str, list[int]],
        *,
        redis_seconds: Callable[[], float] | None = None,
    ) -> None:
        self.trees = trees
        self.redis_seconds = redis_seconds

    def snapshot(self) -> CpuSnapshot:
        roots = [pid for pids in self.trees.values() for pid in pids]
        per_root = tree_cpu_seconds(roots)
        trees = {role: sum(per_root[pid] for pid in pids) for role, pids in self.trees.items()}
        redis = self.redis_seconds() if self.redis_seconds is not None else None
        return CpuSnapshot(trees=trees, redis=redis)

    def spent(self, before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        """CPU seconds per role between the two snapshots."""
        spent = {role: after.trees[role] - before.trees.get(role, 0.0) for role in after.trees}
        if after.redis is not None and before.redis is not None:
            spent["redis"] = after.redis - before.redis
        return spent


def system_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to see others' load."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    # user nice system idle iowait irq softirq; not steal (the hypervisor's, not ours).
    return (sum(fields[:7]) - idle) / _TICKS


def wait_until_quiet(limit_s: float, *, cores: float = 0.3, window_s: float = 5.0) -> float:
    """Wait (at most ``limit_s``) for ``window_s`` seconds in which the whole machine used
    less than ``cores`` CPUs; returns the load seen last, in cores. On a shared machine
    this keeps other people's work out of the figures."""
    deadline = time.monotonic() + limit_s
    while True:
        before = system_busy_seconds()
        time.sleep(window_s)
        used = (system_busy_seconds() - before) / window_s
        if used < cores or time.monotonic() >= deadline:
            return used
