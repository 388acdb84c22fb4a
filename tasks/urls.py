from tasks.list_views import ListViewSet
from tasks.views import TagViewSet, TaskViewSet
from todo_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("tags", TagViewSet, basename="tag")
router.register("lists", ListViewSet, basename="list")

urlpatterns = router.urls
