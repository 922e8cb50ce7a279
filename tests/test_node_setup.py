"""How `make test` finds or provides the Node.js for tests/js/ (launcher/node.py).

Pure: PATH and apt-get are stub files under tmp_path and the effective uid is patched;
nothing here runs the real apt-get.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launcher import node
from tests.test_browser_setup import stub


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("NODE", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    return directory


def fake_node(path: Path, version: str = "v20.11.1") -> Path:
    return stub(path, f'[ "$1" = --version ] && echo {version}')


def test_node_on_path_is_used(bin_dir: Path) -> None:
    found = fake_node(bin_dir / "node")
    assert node.ensure_node(lambda line: pytest.fail(line)) == str(found)


def test_node_env_wins_and_a_bad_one_is_an_error(bin_dir: Path, tmp_path: Path, monkeypatch):
    fake_node(bin_dir / "node")
    chosen = fake_node(tmp_path / "elsewhere" / "node")
    monkeypatch.setenv("NODE", str(chosen))
    assert node.find_node() == str(chosen)
    monkeypatch.setenv("NODE", str(tmp_path / "missing"))
    with pytest.raises(node.NodeError, match=r"^NODE=.* is not an executable"):
        node.find_node()


def test_a_node_too_old_for_the_test_runner_is_refused(bin_dir: Path) -> None:
    fake_node(bin_dir / "node", "v16.20.2")
    with pytest.raises(node.NodeError, match=r"is not Node.js 18\+ \(found 16\)"):
        node.find_node()


def test_nothing_installable_stops_with_one_line(bin_dir: Path) -> None:
    with pytest.raises(node.NodeError) as error:
        node.ensure_node(lambda line: pytest.fail(line))
    message = str(error.value)
    assert "\n" not in message and "apt-get install nodejs" in message
    assert "no apt-get here" in message


def test_root_installs_debian_nodejs_after_one_line(bin_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    calls = tmp_path / "apt-calls"
    installed = (
        f'printf "#!/bin/sh\\necho v18.19.0\\n" > "{bin_dir}/node"; chmod +x "{bin_dir}/node"'
    )
    stub(
        bin_dir / "apt-get",
        f'echo "$*" >> "{calls}"\ncase "$*" in *install*) {installed};; esac',
    )
    logged: list[str] = []
    assert node.ensure_node(logged.append) == str(bin_dir / "node")
    assert len(logged) == 1 and "installing Debian's nodejs" in logged[0]
    assert calls.read_text().splitlines()[-1].endswith("-y install nodejs")
