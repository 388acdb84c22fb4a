from django.contrib import admin

from tasks.models import IdempotencyKey, Tag, Task, TaskList
from tasks.selectors import tag_list_of
from tasks.speedups import tag_names


class TaskRowInline(admin.TabularInline):
    """A task's rows under its list or its parent: read-only (a list and a parent belong to one user;
    the API's services check that, a free choice here would not), each linking to the task."""

    model = Task
    fields = ["title", "completed", "due_at", "position", "deleted_at"]
    readonly_fields = ["title", "completed", "due_at", "position", "deleted_at"]
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SubtaskInline(TaskRowInline):
    fk_name = "parent"
    verbose_name_plural = "subtasks"


class ListTaskInline(TaskRowInline):
    fk_name = "list"
    verbose_name_plural = "tasks"


@admin.register(TaskList)
class TaskListAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "user_id", "inbox", "archived", "position", "created_at", "deleted_at"]
    list_filter = ["inbox", "archived", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user_id"]
    readonly_fields = ["user_id", "inbox", "created_at", "updated_at", "deleted_at"]
    inlines = [ListTaskInline]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "user_id", "completed", "priority", "due_at", "tag_list", "created_at", "deleted_at"]
    list_filter = ["completed", "priority", "due_at", "created_at", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "user_id", "tags__name"]
    date_hierarchy = "created_at"
    fields = [
        "user_id", "title", "description", "completed", "priority", "due_at", "recurrence", "position",
        "list", "parent", "tag_list", "completed_at", "created_at", "updated_at", "deleted_at",
    ]  # fmt: skip
    # Tags, lists and parents belong to one user: a choice among every user's would invite mixing them.
    readonly_fields = ["list", "parent", "tag_list", "completed_at", "created_at", "updated_at", "deleted_at"]
    inlines = [SubtaskInline]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(tag_names=tag_names())

    @admin.display(description="tags")
    def tag_list(self, task: Task) -> str:
        return ", ".join(tag_list_of(task)) if hasattr(task, "tag_names") else ""


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "user_id", "created_at"]
    search_fields = ["name", "user_id"]
    readonly_fields = ["created_at"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "user_id", "status_code", "created_at"]
    search_fields = ["key", "user_id"]
    readonly_fields = ["user_id", "key", "fingerprint", "status_code", "response", "created_at"]
