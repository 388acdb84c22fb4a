import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

import todo_project.schema  # noqa: F401  (registers the bearer scheme)
from mcp_server import views as mcp_views
from todo_project import views

urlpatterns = [
    path("", views.index, name="index"),
    re_path(r"^health/?$", views.health, name="health"),
    re_path(r"^health/ready/?$", views.ready, name="ready"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/<str:user_id>/", include("tasks.urls")),
    path("api/<str:user_id>/", include("chat.urls")),
    path("api/<str:user_id>/", include("webhooks.urls")),
    path("api/<str:user_id>/", include("events.urls")),
    re_path(r"^mcp/?$", mcp_views.mcp, name="mcp"),
    # Any other path is a JSON 404, even with DEBUG on (no HTML debug page); the admin's paths are left to
    # the admin (and to APPEND_SLASH, which redirects /admin to /admin/).
    re_path(rf"^(?!{re.escape(settings.ADMIN_URL.rstrip('/'))}(?:/|$))", views.no_route),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
