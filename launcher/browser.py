"""Find or provide the Chromium that the page tests (tests/e2e/page/) drive: behind `make test`.

The browser tests need a real Chromium or Chrome, and `make test` promises to work on a
fresh machine, so `make test` (``launcher.cli``) calls `ensure_browser()` before
anything starts and puts the path it returns into pytest's environment as
CHROMIUM_PATH. In this order:

1. CHROMIUM_PATH, if set (a path, or a name looked up on PATH); it must be executable,
   since a browser asked for by name must not be replaced by another one silently;
2. the first of chromium, chromium-browser, google-chrome, google-chrome-stable, chrome
   on PATH;
3. a Chromium that Playwright installed earlier: PLAYWRIGHT_BROWSERS_PATH, else
   $XDG_CACHE_HOME/ms-playwright or ~/.cache/ms-playwright (chromium-*/chrome-linux*/chrome,
   newest revision first);
4. Debian's `chromium` package, installed with apt-get where we may (root, or `sudo -n`
   works) -- announced in one line, since it takes up to a minute;
5. otherwise a one-line BrowserError saying what to install, before pytest starts.

`playwright install` is deliberately not used: it downloads from Playwright's CDN, which
machines that only reach the package registries (PyPI, Debian, npm) cannot reach.

It needs only the standard library (plus playwright itself, only for
PLAYWRIGHT_BROWSERS_PATH=0).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from launcher.apt import AptError, apt_install, installer

# Debian and most distributions name it chromium; Ubuntu's older packages chromium-browser;
# Google's packages install google-chrome(-stable); `chrome` covers hand-made symlinks.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DEBIAN_PACKAGE = "chromium"
WHAT_TO_INSTALL = (
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`) or Chrome, "
    "or set CHROMIUM_PATH to one"
)


class BrowserError(RuntimeError):
    """No usable browser and none could be installed: printed as one line by the launcher."""


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _revision(browser_dir: Path) -> int:
    """chromium-1255 -> 1255, so the newest of several Playwright downloads wins."""
    match = re.search(r"-(\d+)$", browser_dir.name)
    return int(match.group(1)) if match else -1


def playwright_registry() -> Path:
    """Where Playwright keeps its browsers, by the same rules as Playwright's own registry."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "").strip()
    if configured == "0":  # "inside the installed package"
        import playwright

        return Path(playwright.__file__).resolve().parent / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache) / "ms-playwright"


def find_playwright_chromium(registry: Path | None = None) -> str | None:
    """A full Chromium that `playwright install` put into its registry earlier, if any.

    Only the full browser (chromium-*), not chromium_headless_shell-*: the tests launch
    Chromium with flags meant for the real browser.
    """
    registry = playwright_registry() if registry is None else registry
    if not registry.is_dir():
        return None
    browser_dirs = sorted(registry.glob("chromium-*"), key=_revision, reverse=True)
    for browser_dir in browser_dirs:
        for candidate in sorted(browser_dir.glob("chrome-linux*/chrome")):
            if _is_executable(candidate):
                return str(candidate)
    return None


def find_browser() -> str | None:
    """The browser to use without installing anything, or None.

    Raises BrowserError if CHROMIUM_PATH names something that is not an executable.
    """
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        if os.sep in configured:
            path: str | None = str(Path(configured).expanduser().absolute())
        else:
            path = shutil.which(configured)
        if path is None or not _is_executable(Path(path)):
            raise BrowserError(f"CHROMIUM_PATH={configured} is not an executable file")
        return path
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return find_playwright_chromium()


def install_debian_chromium(prefix: list[str], apt_get: str) -> str:
    """apt-get install Debian's chromium; returns the installed browser."""
    try:
        apt_install(DEBIAN_PACKAGE, prefix=prefix, apt_get=apt_get)
    except AptError as exc:
        raise BrowserError(f"{exc}; {WHAT_TO_INSTALL}") from None
    found = shutil.which(DEBIAN_PACKAGE) or shutil.which(DEBIAN_PACKAGE, path="/usr/bin")
    if found is None:
        raise BrowserError(f"apt-get installed {DEBIAN_PACKAGE} but no chromium appeared")
    return found


def ensure_browser(log: Callable[[str], None]) -> str:
    """The path of a Chromium for the browser tests, installing Debian's if we must and may.

    `log` gets the single line announcing an install; raises BrowserError (one line) when
    there is no browser and it cannot be installed here.
    """
    found = find_browser()
    if found is not None:
        return found
    can_install = installer()
    if isinstance(can_install, str):
        raise BrowserError(
            f"no Chromium or Chrome for the browser tests ({can_install}): {WHAT_TO_INSTALL}"
        )
    apt_get, prefix = can_install
    how = "apt-get" if not prefix else "sudo apt-get"
    log(
        f"no Chromium found: installing Debian's {DEBIAN_PACKAGE} for the browser tests "
        f"({how}, up to a minute)"
    )
    return install_debian_chromium(prefix, apt_get)
