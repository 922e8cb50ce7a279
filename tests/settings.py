"""Settings for the test run: the engine's own, on a queue no other engine consumes."""

import os

os.environ.setdefault("ORDER_QUEUE", f"engine-test-{os.getpid()}")

from engine_project.settings import *  # noqa: F403

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
