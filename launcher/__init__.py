"""Start the engine and what it needs: behind `make run`, `make test`, the bench and the
fault tests, so there is one way to bring up PostgreSQL, Redis, daphne and Celery.

- ``paths``, ``console``: where things live; how we speak (``LauncherError``, ``log``).
- ``commands``: the one place that spells the web, worker and beat command lines.
- ``processes``: free ports, process groups, signals, the supervisor and its stop sequence.
- ``postgres``, ``redis_server``: the embedded servers under ``.run/``.
- ``services``: PostgreSQL and Redis for a session, given by URL or embedded.
- ``apt``, ``browser``, ``node``: the Chromium and Node.js the suite needs, installed
  from Debian's packages where we may.
- ``cli``: ``python -m launcher run|test|manage|env``.
"""
