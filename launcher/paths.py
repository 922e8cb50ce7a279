"""Where the repository and the embedded servers' data live."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
MANAGE_PY = ROOT / "manage.py"
