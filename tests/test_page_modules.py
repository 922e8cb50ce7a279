"""The live page's JavaScript: its unit tests under Node, and how daphne serves it.

The page is native ES modules in ``static/orders/js/`` (no bundler); their pure parts
(decimal math, the store and its pruning, detail fetching, the stream's reconnects) are
tested with Node's built-in runner in ``tests/js/``. This file runs those tests as part
of the suite, so ``make test`` fails when they do.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from asgiref.testing import ApplicationCommunicator

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "static" / "orders" / "js"
NODE_TIMEOUT_S = 120


def test_page_modules_pass_their_node_tests() -> None:
    # `make test` finds or installs one and passes it as NODE (launcher/node.py).
    node = os.environ.get("NODE") or shutil.which("node")
    if node is None:
        pytest.fail(
            "node not found: install Node.js 18+ (e.g. `apt-get install -y nodejs`)",
            pytrace=False,
        )
    # Files, not the directory: Node 21+ reads its arguments as globs, 18 and 20 as paths.
    files = sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "tests" / "js").glob("*.test.mjs")
    )
    assert files, "no tests in tests/js/"
    result = subprocess.run(
        [node, "--test", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"


def test_every_relative_import_of_the_page_modules_exists() -> None:
    """No bundler checks this for us: a typo would only show as a broken page."""
    imports = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']""", re.M)
    for module in MODULES.glob("*.js"):
        for target in imports.findall(module.read_text()):
            assert (module.parent / target).is_file(), f"{module.name} imports missing {target}"


def test_page_modules_build_no_html_from_strings() -> None:
    """Values from the API reach the page as text nodes only (no markup injection)."""
    sinks = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write)\b")
    for module in MODULES.glob("*.js"):
        found = sinks.findall(module.read_text())
        assert not found, f"{module.name} uses {sorted(set(found))}"


def _get(path: str) -> tuple[int, dict[str, str], bytes]:
    from engine_project.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def exchange() -> tuple[int, dict[str, str], bytes]:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(10)
        chunks = []
        while True:
            message = await communicator.receive_output(10)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], headers, b"".join(chunks)

    return asyncio.run(exchange())


def test_daphne_serves_the_page_its_module_script_and_stylesheet() -> None:
    """Through the ASGI application, as daphne runs it, with DEBUG off.

    Browsers refuse a module script without a JavaScript type, and ``nosniff`` leaves
    them no room to guess.
    """
    status, headers, body = _get("/")
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
    page = body.decode()
    (script,) = re.findall(r'<script type="module" src="([^"]+)"></script>', page)
    (stylesheet,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert "<style" not in page
    assert re.findall(r"<script(?![^>]*\b(?:src|type=\"application/json\"))", page) == []

    assets = [(script, "javascript"), (stylesheet, "text/css")]
    assets += [(f"/static/orders/js/{m.name}", "javascript") for m in MODULES.glob("*.js")]
    for path, kind in assets:
        status, headers, body = _get(path)
        assert status == 200, path
        assert kind in headers["content-type"], (path, headers["content-type"])
        assert body, path
