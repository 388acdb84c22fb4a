from rest_framework.routers import SimpleRouter

from tasks.views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """Routes that answer with or without a trailing slash (`/tasks` and `/tasks/`)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
