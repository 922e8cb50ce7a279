"""How `make test` finds or provides its Chromium (launcher/browser.py), without a browser.

Pure: PATH, the Playwright cache and apt-get/sudo are stub files under tmp_path, and the
effective uid is patched. Nothing here runs the real apt-get or sudo, or starts a browser.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher import browser

# For the stubs' own commands (touch, chmod, true, env): PATH itself points at tmp_path.
STUB_PATH = "/usr/local/bin:/usr/bin:/bin"


def stub(path: Path, body: str = "exit 0") -> Path:
    """An executable shell script at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nPATH={STUB_PATH}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class Machine:
    """A fake machine: its PATH directories, its home and cache, and who we are on it."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.bin = root / "bin"
        self.bin.mkdir()
        self.cache = root / "cache"
        self.logged: list[str] = []
        self.path([self.bin])
        monkeypatch.setenv("HOME", str(root / "home"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(self.cache))
        monkeypatch.delenv("CHROMIUM_PATH", raising=False)
        monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
        self.uid(1000)

    def path(self, dirs: list[Path]) -> None:
        self.monkeypatch.setenv("PATH", os.pathsep.join(str(d) for d in dirs))

    def uid(self, uid: int) -> None:
        self.monkeypatch.setattr(os, "geteuid", lambda: uid)

    def playwright_chromium(self, registry: Path, revision: int, platform: str) -> Path:
        return stub(registry / f"chromium-{revision}" / platform / "chrome")

    def ensure(self) -> str:
        return browser.ensure_browser(self.logged.append)

    def fake_apt_get(self) -> Path:
        """An apt-get that records its calls and, on install, "installs" a chromium.

        Returns the file the calls go to, one line each: $DEBIAN_FRONTEND, then the args.
        """
        calls = self.root / "apt-calls"
        install = f'stub="{self.bin}/chromium"; printf "#!/bin/sh\\n" > "$stub"; chmod +x "$stub"'
        body = f'echo "$DEBIAN_FRONTEND $*" >> "{calls}"\n'
        body += f'case "$*" in *install*) {install};; esac'
        stub(self.bin / "apt-get", body)
        return calls


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    yield Machine(tmp_path, monkeypatch)


@pytest.fixture
def no_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: a test that expects no install fails loudly if one starts."""

    def refuse(*_args: object) -> str:
        raise AssertionError("install_debian_chromium must not run here")

    monkeypatch.setattr(browser, "install_debian_chromium", refuse)


# --- Discovery order --------------------------------------------------------------------


def test_chromium_path_wins_over_path_and_playwright(machine: Machine, no_install: None):
    stub(machine.bin / "chromium")
    machine.playwright_chromium(machine.cache / "ms-playwright", 1255, "chrome-linux64")
    chosen = stub(machine.root / "elsewhere" / "my-chrome")
    machine.monkeypatch.setenv("CHROMIUM_PATH", str(chosen))
    assert machine.ensure() == str(chosen)
    assert machine.logged == []


def test_chromium_path_may_be_a_name_on_path(machine: Machine):
    stub(machine.bin / "chromium")
    chrome = stub(machine.bin / "google-chrome")
    machine.monkeypatch.setenv("CHROMIUM_PATH", "google-chrome")
    assert browser.find_browser() == str(chrome)


@pytest.mark.parametrize("given", ["missing", "not-executable"])
def test_a_bad_chromium_path_is_an_error_not_a_fallback(machine: Machine, given: str):
    stub(machine.bin / "chromium")
    target = machine.root / given
    if given == "not-executable":
        target.write_text("not a browser")
    machine.monkeypatch.setenv("CHROMIUM_PATH", str(target))
    with pytest.raises(browser.BrowserError, match=r"^CHROMIUM_PATH=.* is not an executable"):
        browser.find_browser()


@pytest.mark.parametrize("name", browser.BROWSER_NAMES)
def test_each_browser_name_is_found_on_path(machine: Machine, name: str, no_install: None):
    second_dir = machine.root / "opt-bin"
    machine.path([machine.bin, second_dir])
    found = stub(second_dir / name)
    assert machine.ensure() == str(found)


def test_path_names_are_tried_in_order_and_non_executables_skipped(machine: Machine):
    first_dir, second_dir = machine.root / "a", machine.root / "b"
    machine.path([first_dir, second_dir])
    stub(first_dir / "google-chrome")
    (first_dir / "chromium").write_text("a plain file, not executable")
    chromium_browser = stub(second_dir / "chromium-browser")
    assert browser.find_browser() == str(chromium_browser)


def test_playwright_cache_newest_revision(machine: Machine, no_install: None):
    registry = machine.cache / "ms-playwright"
    machine.playwright_chromium(registry, 1200, "chrome-linux")
    newest = machine.playwright_chromium(registry, 1255, "chrome-linux64")
    stub(registry / "chromium_headless_shell-1300" / "chrome-linux" / "headless_shell")
    assert machine.ensure() == str(newest)


def test_playwright_cache_under_home_without_xdg(machine: Machine):
    machine.monkeypatch.delenv("XDG_CACHE_HOME")
    home_cache = machine.root / "home" / ".cache" / "ms-playwright"
    found = machine.playwright_chromium(home_cache, 1255, "chrome-linux64")
    assert browser.find_browser() == str(found)


def test_playwright_browsers_path(machine: Machine):
    machine.playwright_chromium(machine.cache / "ms-playwright", 1200, "chrome-linux")
    registry = machine.root / "shared-browsers"
    found = machine.playwright_chromium(registry, 1255, "chrome-linux64")
    machine.monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(registry))
    assert browser.find_browser() == str(found)


def test_path_wins_over_playwright_cache(machine: Machine):
    machine.playwright_chromium(machine.cache / "ms-playwright", 1255, "chrome-linux64")
    chromium = stub(machine.bin / "chromium")
    assert browser.find_browser() == str(chromium)


# --- Nothing found ------------------------------------------------------------------------


def assert_one_line_naming_apt(error: pytest.ExceptionInfo[Exception]) -> None:
    message = str(error.value)
    assert "\n" not in message
    assert "apt-get install chromium" in message
    assert "CHROMIUM_PATH" in message


def test_not_root_and_no_sudo_stops_with_one_line(machine: Machine, no_install: None):
    calls = machine.fake_apt_get()
    with pytest.raises(browser.BrowserError) as error:
        machine.ensure()
    assert_one_line_naming_apt(error)
    assert "not root" in str(error.value)
    assert not calls.exists()
    assert machine.logged == []


def test_sudo_that_wants_a_password_is_not_used(machine: Machine, no_install: None):
    machine.fake_apt_get()
    stub(machine.bin / "sudo", "exit 1")  # `sudo -n true` fails: a password is needed
    with pytest.raises(browser.BrowserError) as error:
        machine.ensure()
    assert_one_line_naming_apt(error)


def test_root_without_apt_get_stops_with_one_line(machine: Machine, no_install: None):
    machine.uid(0)
    with pytest.raises(browser.BrowserError) as error:
        machine.ensure()
    assert_one_line_naming_apt(error)
    assert "no apt-get" in str(error.value)


# --- Installing ----------------------------------------------------------------------------


def test_root_installs_debian_chromium_after_one_line(machine: Machine):
    machine.uid(0)
    calls = machine.fake_apt_get()
    assert machine.ensure() == str(machine.bin / "chromium")
    assert len(machine.logged) == 1
    assert "installing Debian's chromium" in machine.logged[0]
    update, install = calls.read_text().splitlines()
    assert update.startswith("noninteractive ") and update.endswith(" update")
    assert install.startswith("noninteractive ") and install.endswith(" -y install chromium")


def test_passwordless_sudo_installs(machine: Machine):
    calls = machine.fake_apt_get()
    stub(machine.bin / "sudo", '[ "$1" = -n ] && shift\nexec "$@"')
    assert machine.ensure() == str(machine.bin / "chromium")
    assert "sudo apt-get" in machine.logged[0]
    assert len(calls.read_text().splitlines()) == 2


def test_a_failing_apt_get_is_one_line_with_its_last_words(machine: Machine):
    machine.uid(0)
    stub(
        machine.bin / "apt-get",
        'case "$*" in *install*) echo "Reading package lists..."; '
        'echo "E: Unable to locate package chromium"; exit 100;; esac',
    )
    with pytest.raises(browser.BrowserError) as error:
        machine.ensure()
    assert_one_line_naming_apt(error)
    assert "apt-get install chromium failed (exit 100: E: Unable to locate package" in str(
        error.value
    )
