"""The order business logic, one job per module.

- ``creation``: store a pending order with its first event, Idempotency-Key replays.
- ``transitions``: the compare-and-set every status change goes through.
- ``execution``: one delivery of an order's task, from its lease to the end of an attempt.
- ``swap_steps``: the four steps of an attempt (route, build, submit, land).
- ``recovery``: the sweep that queues again what a vanished task left behind.
- ``order_queue``: how these hand an order to the workers, passed in like the notifier.

Doors (views, tasks, consumers, commands) import the module they need.
"""
