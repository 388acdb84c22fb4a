"""Schemathesis against our own OpenAPI schema: every operation, a valid token, bounded examples."""

import json
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.utils.encoders import JSONEncoder
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.conftest import USER_A
from todo_project.auth import mint_token

schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=JSONEncoder))
)
schema.app = WSGIHandler()  # requests go through the whole Django stack, in process


@pytest.fixture
def authorization(db) -> Iterator[dict[str, str]]:
    """A token for USER_A; and, as Django's test client does, requests don't close the connection
    (it holds the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {mint_token(USER_A, ttl=600)}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case, authorization):
    if "user_id" in (case.path_parameters or {}):
        case.path_parameters["user_id"] = USER_A  # the token's user: reach the operations, not the 403
    # Every check but negative_data_rejection: our harness adds the token to every case (so a case
    # "without Authorization" is sent with one), and unknown query parameters are ignored on purpose.
    case.call_and_validate(headers=authorization, excluded_checks=[negative_data_rejection])
