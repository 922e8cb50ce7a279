"""Settings for the test run: the engine's own, on a queue no other engine consumes."""

import os

os.environ.setdefault("ORDER_QUEUE", f"engine-test-{os.getpid()}")

from engine_project.settings import *  # noqa: F403

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Threads started by tests (executors, database_sync_to_async) must not keep connections
# open, or the test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# In-process tests open connections from many short-lived threads; the pool is exercised
# by the end-to-end tests' daphne and worker processes, which use the engine's settings.
DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
# One test database per run: parallel runs on one server must not drop each other's.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
