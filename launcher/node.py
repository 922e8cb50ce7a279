"""Find or provide the Node.js that runs the page's module tests (tests/js/).

`make test` calls `ensure_node()` before anything starts and hands the path to pytest
as NODE (tests/test_page_modules.py). NODE if set, else `node` on PATH; without one,
Debian's `nodejs` is installed where we may (launcher/apt.py), announced in one line;
otherwise a one-line NodeError says what to install. Node 18 is the oldest with the
built-in test runner.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from launcher.apt import AptError, apt_install, installer

MIN_MAJOR = 18
DEBIAN_PACKAGE = "nodejs"
WHAT_TO_INSTALL = (
    f"install Node.js {MIN_MAJOR}+ (Debian/Ubuntu: `sudo apt-get install nodejs`) "
    "or set NODE to one"
)


class NodeError(RuntimeError):
    """No usable Node.js and none could be installed: printed as one line."""


def node_major(path: str) -> int | None:
    """The major version `path --version` reports (v20.11.1 -> 20), or None."""
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(match.group(1)) if done.returncode == 0 and match else None


def find_node() -> str | None:
    """NODE or `node` on PATH if it is recent enough; raises NodeError for a bad NODE."""
    configured = os.environ.get("NODE", "").strip()
    if configured:
        path = configured if os.sep in configured else shutil.which(configured)
        if path is None or not os.access(Path(path), os.X_OK):
            raise NodeError(f"NODE={configured} is not an executable file")
    else:
        path = shutil.which("node")
        if path is None:
            return None
    major = node_major(path)
    if major is None or major < MIN_MAJOR:
        raise NodeError(f"{path} is not Node.js {MIN_MAJOR}+ (found {major}): {WHAT_TO_INSTALL}")
    return path


def ensure_node(log: Callable[[str], None]) -> str:
    """The path of a Node.js for tests/js/, installing Debian's if we must and may."""
    found = find_node()
    if found is not None:
        return found
    can_install = installer()
    if isinstance(can_install, str):
        raise NodeError(
            f"no Node.js for the page's module tests ({can_install}): {WHAT_TO_INSTALL}"
        )
    apt_get, prefix = can_install
    log(f"no Node.js found: installing Debian's {DEBIAN_PACKAGE} for the page's module tests")
    try:
        apt_install(DEBIAN_PACKAGE, prefix=prefix, apt_get=apt_get)
    except AptError as exc:
        raise NodeError(f"{exc}; {WHAT_TO_INSTALL}") from None
    found = find_node()
    if found is None:
        raise NodeError(f"apt-get installed {DEBIAN_PACKAGE} but no node appeared")
    return found
