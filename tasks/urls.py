from tasks.views import TagViewSet, TaskViewSet
from todo_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("tags", TagViewSet, basename="tag")

urlpatterns = router.urls
