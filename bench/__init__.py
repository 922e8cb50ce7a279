"""Load benchmark of the order engine (issue 4), driven only through its public API.

``python -m bench`` (or ``make bench``) spawns an engine per scenario -- daphne plus N
Celery worker processes on a private Redis and a bench database -- or drives one that
is already running (``--url``), and prints every figure beside its target and the
physical bound. docs/PERFORMANCE.md explains the figures and holds measured ones.
"""
