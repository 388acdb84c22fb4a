import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

application = get_wsgi_application()
# Import every view (and the agent SDK behind the chat) while the worker boots, not during its
# first request, which would otherwise wait seconds with every request queued behind it.
get_resolver().url_patterns  # noqa: B018
