"""Installing a Debian package for `make test` where we may: as root, or with `sudo -n`.

Used for what the suite needs beyond Python (Chromium for the browser tests, Node.js
for the page's module tests) on a fresh machine. Never prompts: `make test` may run
without a terminal. apt's output is kept and only its last line is shown, on failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

# apt-get may wait this long for another apt or unattended-upgrades to let go of its lock.
APT_LOCK_TIMEOUT_S = 120


class AptError(RuntimeError):
    """apt-get could not install the package: one line, ending with apt's last words."""


def privilege_prefix() -> list[str] | None:
    """How to run apt-get as root: [] if we are root, sudo -n if that works without a
    password, else None."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    try:
        allowed = subprocess.run(
            [sudo, "-n", "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [sudo, "-n"] if allowed.returncode == 0 else None


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def apt_install(package: str, *, prefix: list[str], apt_get: str) -> None:
    """apt-get update, then apt-get install -y PACKAGE, non-interactively."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # sudo resets the environment: pass on the one variable apt needs.
    runner = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive"] if prefix else []
    apt = [*runner, apt_get, "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}", "-q"]
    steps = (
        ("apt-get update", [*apt, "update"]),
        (f"apt-get install {package}", [*apt, "-y", "install", package]),
    )
    for what, argv in steps:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise AptError(f"{what} failed (exit {done.returncode}: {_last_line(done.stdout)})")


def installer() -> tuple[str, list[str]] | str:
    """(apt-get, privilege prefix) where we may install, else why not (one phrase)."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        return "no apt-get here"
    prefix = privilege_prefix()
    if prefix is None:
        return "not root and `sudo -n` is not allowed"
    return apt_get, prefix
