"""Celery's thread pool, with the worker's event loop woken whenever a task ends.

Orders spend nearly all their time waiting (quotes, the network, PostgreSQL), so threads
in one process serve them as well as prefork children do, without handing every task
and its acknowledgement through a pipe to a child and back: on this 2-core machine the
workers' CPU per order fell by about a third, and one process replaces eleven.

Celery's own thread pool (``-P threads``) is unusable as it stands with ``acks_late`` and
a prefetch limit (celery/celery#6941): a task acknowledges from its thread, but the
worker's event loop, which asks Redis for the next message only when it wakes, sleeps
until some socket or timer wakes it, up to a second or more. Every slot sat idle that
long after each order (8.6 to 9.2 orders/s instead of 117 to 121 in ``python -m bench
clients``). Here each finished task writes one byte to a pipe the loop listens on, so
the loop asks for the next message at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery.concurrency import thread
from celery.concurrency.base import apply_target
from celery.concurrency.thread import ApplyResult  # type: ignore[attr-defined]  # not in celery-types


class WakingThreadPool(thread.TaskPool):
    """``-P threads`` that wakes the worker's loop when a task ends (its ack is done)."""

    executor: ThreadPoolExecutor  # Celery's (celery-types does not declare it)
    _wake_fd: int | None = None

    def register_with_event_loop(self, hub: Any) -> None:
        super().register_with_event_loop(hub)
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)

        def drain(*_: Any) -> None:
            # Waking is all the bytes are for; several tasks may have written.
            with contextlib.suppress(BlockingIOError):
                while os.read(read_fd, 4096):
                    pass

        hub.add_reader(read_fd, drain)
        self._wake_fd = write_fd

    def on_apply(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        callback: Callable[..., Any] | None = None,
        accept_callback: Callable[..., Any] | None = None,
        **_: Any,
    ) -> ApplyResult:
        """Celery's, with the wake-up after the task and its callback (the ack)."""
        future = self.executor.submit(
            self._apply_and_wake, target, args, kwargs, callback, accept_callback
        )
        return ApplyResult(future)

    def _apply_and_wake(self, *call: Any) -> None:
        try:
            apply_target(*call)
        finally:
            self.wake_loop()

    def wake_loop(self) -> None:
        if self._wake_fd is not None:
            # A full pipe already holds a wake-up the loop has not read yet.
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_fd, b"!")
