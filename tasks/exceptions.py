from django.core.exceptions import ObjectDoesNotExist


class TaskNotFound(ObjectDoesNotExist):
    """No task with this id belongs to this user (whether it exists for someone else or not)."""

    def __init__(self, task_id: object) -> None:
        super().__init__(f"Task {task_id} not found.")
        self.task_id = task_id
