from django.apps import AppConfig


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"

    def ready(self) -> None:
        from events.outbox import provisional
        from tasks.events import finish_written
        from tasks.speedups import WRITTEN

        provisional(WRITTEN, finish_written)
