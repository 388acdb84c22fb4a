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
TEXT_RULES = {
    ("TaskRequest", "title"): NOT_BLANK,
    ("PatchedTaskRequest", "title"): NOT_BLANK,
    ("TaskRequest", "description"): NO_NUL,
    ("ImportItemRequest", "title"): NOT_BLANK,
    ("ImportItemRequest", "description"): NO_NUL,
    ("PatchedTaskRequest", "description"): NO_NUL,
    ("ChatRequestRequest", "message"): NOT_BLANK,
}


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
    return result
