"""schemathesis against the engine's own OpenAPI schema: no request gets a server error.

Every operation in ``/api/schema/`` is called with bodies, parameters and headers
generated from the schema, valid and invalid alike, through Django's WSGI application
(the same views daphne serves). A 5xx on any of them fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

# Transactional: each request opens and closes its connection, as under daphne.
pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


# Loaded at collection: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])
