from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsPathUser(BasePermission):
    """The URL's `<user_id>` is the token's user."""

    message = "The user id in the URL is not the authenticated user."

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        path_user_id = view.kwargs.get("user_id")
        return path_user_id is None or (request.user is not None and request.user.id == path_user_id)
