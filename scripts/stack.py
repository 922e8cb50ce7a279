#!/usr/bin/env python3
"""`make run/test/superuser` without the Makefile: a thin entry to ``launcher.cli``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from launcher.cli import main

if __name__ == "__main__":
    sys.exit(main())
