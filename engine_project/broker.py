"""kombu's Redis transport with one client object per channel instead of one per call.

kombu's Redis channel builds a new ``redis.Redis`` for each command it sends outside
its polling loop: the bookkeeping of every delivered and every acknowledged message
(``acks_late``), so two or more per order. redis-py fills a fresh table of ~165
response callbacks in each client's constructor: 173 µs per client on the bench
machine, 3.9 % of a worker's samples in ``python -m bench clients``. The clients are
all alike and share the channel's connection pool, and a ``redis.Redis`` is safe to
share between threads (each command takes a connection from the pool for itself), so
one per pool is enough; a new pool (kombu drops its pools after a connection error)
gets a new client.
"""

from __future__ import annotations

import threading
from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: Any = None
    _shared_client_pool: Any = None
    _shared_client_lock = threading.Lock()

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        pool = self.pool
        with self._shared_client_lock:
            if self._shared_client is None or self._shared_client_pool is not pool:
                self._shared_client = self.Client(connection_pool=pool)
                self._shared_client_pool = pool
            return self._shared_client


class Transport(kombu_redis.Transport):
    Channel = Channel
