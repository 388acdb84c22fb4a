from tasks.views import TaskViewSet
from todo_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
