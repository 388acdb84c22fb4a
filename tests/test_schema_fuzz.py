"""Schemathesis against our own OpenAPI schema: every operation, a valid token, bounded examples."""

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.utils.encoders import JSONEncoder
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.conftest import USER_A
from todo_project.auth import mint_token

schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=JSONEncoder))
)
schema.app = WSGIHandler()  # requests go through the whole Django stack, in process


@pytest.fixture
def authorization(transactional_db, settings) -> dict[str, str]:
    """A token for USER_A. The database commits as it would in production (not the test's one
    transaction): a chat turn runs on a thread of its own (todo_project.asynchronous.run_detached),
    with a connection of its own that must see what the request wrote. A live stream ends soon
    (schemathesis reads a body to its end)."""
    settings.EVENTS_STREAM_MAX_SECONDS = 0.3
    return {"Authorization": f"Bearer {mint_token(USER_A, ttl=600)}"}


# Request rules that depend on other fields or on stored data, which a schema cannot express: a
# recurrence rule's parts must fit together (e.g. not COUNT and UNTIL) and need a due_at; bulk ids
# must be the user's tasks; updated_since combines only with pagination, cursor must come from a
# `next` link and not with offset; a due_at must be a moment after 0001-01-01 UTC. A schema-valid
# request may get a 400 naming only these; and a 422 when schemathesis reuses an Idempotency-Key
# for another body.
# Lists and subtasks: a list's name is unique per user; list_id, parent_id, move_tasks_to and a move's
# before or after must name the user's own list or task (and a subtask its parent's list, at most
# three levels deep); an import's parent_id names another row of the file, and its `list` a list the
# user may have, its parent's for a subtask.
# Webhooks: a url must be http(s) and resolve to public addresses only (SSRF), which no schema can say.
BEYOND_THE_SCHEMA = {"recurrence", "ids", "updated_since", "cursor", "due_at", "name", "list_id", "parent_id",
                     "move_tasks_to", "list", "before", "after", "url"}  # fmt: skip


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case, authorization):
    if "user_id" in (case.path_parameters or {}):
        case.path_parameters["user_id"] = USER_A  # the token's user: reach the operations, not the 403
    # Every check but negative_data_rejection: our harness adds the token to every case (so a case
    # "without Authorization" is sent with one).
    # positive_data_acceptance is checked below, with the exceptions of BEYOND_THE_SCHEMA.
    response = case.call_and_validate(
        headers=authorization, excluded_checks=[negative_data_rejection, positive_data_acceptance]
    )
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code in {400, 415, 422}:
        errors = response.json()
        reused_key = response.status_code == 422 and "Idempotency-Key" in (case.headers or {})
        assert reused_key or (response.status_code == 400 and _fields(errors) <= BEYOND_THE_SCHEMA), (
            case.method,
            case.formatted_path,
            case.query,
            case.body,
            case.media_type,
            errors,
        )


def _fields(errors: dict) -> set[str]:
    """The fields a 400 names, looking into a bulk request's per-item errors."""
    fields = set()
    for name, value in errors.items():
        items = value.values() if isinstance(value, dict) and all(key.isdigit() for key in value) else []
        nested = [item for item in items if isinstance(item, dict)]
        fields |= set().union(*map(_fields, nested)) if nested else {name}
    return fields


# Small bad input the schema allows or cannot describe (a NUL, a run of "-" in a search, a 20-digit offset, a
# digit that is not ASCII): every query parameter of the list and the export answers 200 or a JSON 400.
NASTY = st.text(st.sampled_from(list("\x00-\"' ,|&!():*<>a1²٣")), max_size=60) | st.integers(0, 10**30).map(str)
QUERY_PARAMETERS = ["tag", "search", "offset", "limit", "priority", "ordering", "due_before", "cursor", "updated_since"]


@pytest.mark.django_db
@given(
    path=st.sampled_from(["tasks", "tasks/export?format=csv&"]),
    name=st.sampled_from(QUERY_PARAMETERS),
    value=NASTY,
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_query_value_is_answered_or_refused_with_json(api_a, path, name, value):
    url = f"/api/{USER_A}/{path}" + ("" if path.endswith("&") else "?") + urlencode({name: value})

    response = api_a.get(url)

    assert response.status_code in {200, 400}, (url, response.status_code)
    if response.status_code == 400:
        assert response["Content-Type"] == "application/json"
        assert response.json()
    elif response.streaming:
        assert b"".join(response.streaming_content).startswith(b"id,")
