"""OpenAPI description of the Better Auth bearer authentication (loaded by urls.py)."""

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
