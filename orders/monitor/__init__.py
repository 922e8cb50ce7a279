"""The price monitor: watches executable prices and pool launches, triggers resting orders.

- ``book``: the waiting orders in memory, indexed by pair, size and trigger price.
- ``prices``: executable prices from the pools' state, with no quote round trip.
- ``loop``: the tick (expire, refresh the book from the database, trigger) and its loop.

Its state is the database: it can be killed at any moment and started again, and two
of them may run at once (each trigger is a compare-and-set; the first claim wins).
"""
