"""WebSocket doors: replay an order's stored events, then forward its live ones.

Live events come from the process's event hub (one reader of the Redis event stream
for every socket), which may lose events while Redis fails, so the database is the
source of truth: a consumer subscribes first, replays what is stored, drops live events
it already sent (by ``seq``) and backfills from the database when it sees a gap.

- ``base``: the quota, the hub inbox and the database hop every socket shares.
- ``order_stream``: one order's events (``/status/<orderId>`` and ``/execute``).
- ``feed``: every order's events (``/stream``), resumable from a cursor.
"""
