"""OpenAPI description of the Better Auth bearer authentication (loaded by urls.py)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    target_class = "todo_project.auth.BetterAuthJWTAuthentication"
    name = "BetterAuthJWT"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 - a scheme name, not a password
            bearer_format="JWT",
        )


def strip_optional_trailing_slash(endpoints: list[tuple], **kwargs) -> list[tuple]:
    """Our routes take an optional trailing slash; document them as the contract writes them."""
    return [(path.rstrip("/") or "/", path_regex, method, callback) for path, path_regex, method, callback in endpoints]


# Text the API accepts: no NUL character (PostgreSQL cannot store it) and, where text is required,
# something besides whitespace (the API trims like Python's str.strip, whose whitespace includes
# U+001C-U+001F and U+0085 beyond JSON Schema's \s).
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u001c-\\u001f\\u0085\\u0000][^\\u0000]*$"
# A tag name: not blank, no ',', '/', '#' (they separate tags in CSV, URLs and chat), no NUL.
TAG_NAME = "^[^,/#\\u0000]*[^\\s\\u001c-\\u001f\\u0085,/#\\u0000][^,/#\\u0000]*$"
# A repeat rule as tasks/recurrence.py accepts it, in its canonical form (upper case, the parts in order:
# FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, COUNT or UNTIL, WKST), each FREQ with the parts it takes.
# The API also takes lower case and other orders; and it refuses a rule that matches no date at all
# (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30), which no pattern can tell.
_WEEKDAY = "(?:MO|TU|WE|TH|FR|SA|SU)"
_WEEKDAYS = f"{_WEEKDAY}(?:,{_WEEKDAY})*"
_NTH_WEEKDAYS = f"(?:-?[1-5])?{_WEEKDAY}(?:,(?:-?[1-5])?{_WEEKDAY})*"
_MONTHDAYS = "-?(?:[1-9]|[12][0-9]|3[01])(?:,-?(?:[1-9]|[12][0-9]|3[01]))*"
_UP_TO_1000 = "(?:[1-9][0-9]{0,2}|1000)"
_UNTIL = "[1-9][0-9]{3}(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])(?:T(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z)?"
_DAYS_OF_MONTH = f"(?:;BYMONTHDAY={_MONTHDAYS}(?:;BYDAY={_WEEKDAYS})?|;BYDAY={_NTH_WEEKDAYS})?"
_FREQ = (
    f"FREQ=(?:DAILY|WEEKLY)(?:;INTERVAL={_UP_TO_1000})?(?:;BYDAY={_WEEKDAYS})?",
    f"FREQ=MONTHLY(?:;INTERVAL={_UP_TO_1000})?{_DAYS_OF_MONTH}",
    f"FREQ=YEARLY(?:;INTERVAL={_UP_TO_1000})?(?:;BYMONTH=(?:[1-9]|1[0-2])(?:,(?:[1-9]|1[0-2]))*)?{_DAYS_OF_MONTH}",
)
RECURRENCE = f"^(?:RRULE:)?(?:{'|'.join(_FREQ)})(?:;COUNT={_UP_TO_1000}|;UNTIL={_UNTIL})?(?:;WKST={_WEEKDAY})?$"
TEXT_RULES = {
    ("TaskRequest", "title"): NOT_BLANK,
    ("PatchedTaskRequest", "title"): NOT_BLANK,
    ("TaskRequest", "description"): NO_NUL,
    ("ImportItemRequest", "title"): NOT_BLANK,
    ("ImportItemRequest", "description"): NO_NUL,
    ("ImportItemRequest", "list"): NO_NUL,
    ("PatchedTaskRequest", "description"): NO_NUL,
    ("ChatRequestRequest", "message"): NOT_BLANK,
    ("TaskRequest", "recurrence"): RECURRENCE,
    ("PatchedTaskRequest", "recurrence"): RECURRENCE,
    ("ImportItemRequest", "recurrence"): RECURRENCE,
}


# Answers of several shapes where one value can fit more than one, which oneOf forbids: a list of tasks is
# also a list of changes (with no tombstone in it), a task with its subtasks is also a task.
OVERLAPPING = ("TaskListResponse", "TaskOrTree")


def describe_request_rules(result: dict, **kwargs) -> dict:
    """What the serializers enforce beyond their field types, written into the schema: unknown body
    fields are refused, text rules above, and the configured chat message length."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    for (name, field), pattern in TEXT_RULES.items():
        if field in schemas.get(name, {}).get("properties", {}):
            schemas[name]["properties"][field]["pattern"] = pattern
    for name in ("BulkCreateRequest",):
        if name in schemas:
            schemas[name]["properties"]["tasks"].update(minItems=1, maxItems=500)
    for name in ("TaskRequest", "PatchedTaskRequest", "ImportItemRequest", "BulkUpdateRequest"):
        if name in schemas:
            schemas[name]["properties"]["tags"]["items"]["pattern"] = TAG_NAME
    if "ChatRequestRequest" in schemas:
        schemas["ChatRequestRequest"]["properties"]["message"]["maxLength"] = settings.CHAT_MAX_MESSAGE_CHARS
    for name in OVERLAPPING:
        if "oneOf" in schemas.get(name, {}):
            schemas[name]["anyOf"] = schemas[name].pop("oneOf")
    for path in result.get("paths", {}).values():  # a body of one of several shapes is no less required
        for operation in path.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            if any("oneOf" in schemas.get(media.get("schema", {}).get("$ref", "").rpartition("/")[2], {})
                   for media in body.get("content", {}).values()):  # fmt: skip
                body["required"] = True
    return result


# OpenAPI links: what an answer leads to (a created task or list can be read, updated, deleted; a deleted
# one restored), by operation id and status; the stateful fuzz test follows them. Each link: the operation
# it leads to, and its parameters as runtime expressions over this request and answer.
_SAME_USER = {"user_id": "$request.path.user_id"}
_SAME_PATH = {**_SAME_USER, "id": "$request.path.id"}
_NEW_ONE = {**_SAME_USER, "id": "$response.body#/id"}
_AT_VERSION = {"header.If-Match": "$response.header.ETag"}
LINKS = {
    ("api_tasks_create", "201"): {
        "GetTask": ("api_tasks_retrieve", _NEW_ONE),
        "UpdateTask": ("api_tasks_partial_update", {**_NEW_ONE, **_AT_VERSION}),
        "ReplaceTask": ("api_tasks_update", _NEW_ONE),
        "CompleteTask": ("api_tasks_complete_partial_update", {**_NEW_ONE, **_AT_VERSION}),
        "DeleteTask": ("api_tasks_destroy", _NEW_ONE),
    },
    ("api_tasks_retrieve", "200"): {
        "UpdateTask": ("api_tasks_partial_update", {**_SAME_PATH, **_AT_VERSION}),
        "CompleteTask": ("api_tasks_complete_partial_update", _SAME_PATH),
        "DeleteTask": ("api_tasks_destroy", {**_SAME_PATH, **_AT_VERSION}),
    },
    ("api_tasks_partial_update", "200"): {
        "GetTask": ("api_tasks_retrieve", _SAME_PATH),
        "CompleteTask": ("api_tasks_complete_partial_update", {**_SAME_PATH, **_AT_VERSION}),
    },
    ("api_tasks_update", "200"): {"GetTask": ("api_tasks_retrieve", _SAME_PATH)},
    ("api_tasks_complete_partial_update", "200"): {
        "GetTask": ("api_tasks_retrieve", _SAME_PATH),
        "DeleteTask": ("api_tasks_destroy", _SAME_PATH),
    },
    ("api_tasks_destroy", "204"): {"RestoreTask": ("api_tasks_restore_create", _SAME_PATH)},
    ("api_tasks_restore_create", "200"): {
        "GetTask": ("api_tasks_retrieve", _SAME_PATH),
        "CompleteTask": ("api_tasks_complete_partial_update", _SAME_PATH),
    },
    ("api_tasks_bulk_create", "201"): {
        "GetTask": ("api_tasks_retrieve", {**_SAME_USER, "id": "$response.body#/results/0/id"}),
    },
    ("api_lists_create", "201"): {
        "GetList": ("api_lists_retrieve", _NEW_ONE),
        "UpdateList": ("api_lists_partial_update", _NEW_ONE),
        "DeleteList": ("api_lists_destroy", _NEW_ONE),
    },
    ("api_lists_destroy", "204"): {"RestoreList": ("api_lists_restore_create", _SAME_PATH)},
    ("api_chat_create", "200"): {
        "GetConversation": ("api_conversations_retrieve", {**_SAME_USER, "id": "$response.body#/conversation_id"}),
        "DeleteConversation": ("api_conversations_destroy", {**_SAME_USER, "id": "$response.body#/conversation_id"}),
    },
    ("api_conversations_destroy", "204"): {"GetConversation": ("api_conversations_retrieve", _SAME_PATH)},
}


def describe_links(result: dict, **kwargs) -> dict:
    """Write LINKS into the responses they start from."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for (operation_id, status), links in LINKS.items():
                if operation.get("operationId") == operation_id and status in operation.get("responses", {}):
                    operation["responses"][status]["links"] = {
                        name: {"operationId": target, "parameters": parameters}
                        for name, (target, parameters) in links.items()
                    }
    return result


def describe_events(result: dict, **kwargs) -> dict:
    """The event's schema (CloudEvent and its data, from tasks.events) as components, for what refers to it."""
    from tasks.events import EVENT_SCHEMAS

    result.setdefault("components", {}).setdefault("schemas", {}).update(EVENT_SCHEMAS)
    return result
