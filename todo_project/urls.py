from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import todo_project.schema  # noqa: F401  (registers the bearer scheme)
from mcp_server import views as mcp_views
from todo_project import views

urlpatterns = [
    re_path(r"^health/?$", views.health, name="health"),
    re_path(r"^health/ready/?$", views.ready, name="ready"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/<str:user_id>/", include("tasks.urls")),
    path("api/<str:user_id>/", include("chat.urls")),
    re_path(r"^mcp/?$", mcp_views.mcp, name="mcp"),
    # Unknown paths under /api/ answer JSON even with DEBUG on (no HTML debug page for API clients).
    re_path(r"^api/", views.api_not_found),
]

handler404 = views.not_found
handler500 = views.server_error
