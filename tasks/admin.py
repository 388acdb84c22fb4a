from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tasks import services
from tasks.events import lists_changed, tasks_changed
from tasks.models import IdempotencyKey, Tag, Task, TaskList
from tasks.selectors import subtree, tag_list_of, task_many
from tasks.speedups import tag_names


class EventsMixin:
    """The admin's edits are changes like any other: each writes its event, in the same transaction
    (the admin's changes and deletions run in one). A deletion here is for good: `purged`."""

    def changed(self, obj, kind: str) -> None:
        raise NotImplementedError

    def purged(self, objs: list) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            completed = change and "completed" in form.changed_data and getattr(obj, "completed", False)
            self.changed(obj, "completed" if completed else "updated" if change else "created")

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, type(obj).objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        with transaction.atomic():
            gone = list(queryset.select_for_update())
            self.purged(gone)
            super().delete_queryset(request, queryset)  # type: ignore[misc]


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
class TaskListAdmin(EventsMixin, admin.ModelAdmin):
    list_display = ["id", "name", "user_id", "inbox", "archived", "position", "created_at", "deleted_at"]
    list_filter = ["inbox", "archived", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user_id"]
    readonly_fields = ["user_id", "inbox", "created_at", "updated_at", "deleted_at"]
    inlines = [ListTaskInline]

    def changed(self, task_list: TaskList, kind) -> None:
        lists_changed(kind, [task_list])

    def purged(self, task_lists: list[TaskList]) -> None:
        lists_changed("purged", task_lists, at=timezone.now())


@admin.register(Task)
class TaskAdmin(EventsMixin, admin.ModelAdmin):
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

    def changed(self, task: Task, kind) -> None:
        tasks_changed(kind, task_many(ids=[task.id]))  # with its tags

    def purged(self, tasks: list[Task]) -> None:
        ids = [task.id for task in tasks]  # and their subtasks, which go with them (CASCADE)
        gone = Task.objects.filter(subtree(ids)).annotate(tag_names=tag_names())
        tasks_changed("purged", gone, at=timezone.now())

    @admin.display(description="tags")
    def tag_list(self, task: Task) -> str:
        return ", ".join(tag_list_of(task)) if hasattr(task, "tag_names") else ""


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """A tag is made by tagging a task; renaming and deleting one go through the services (a rename
    onto a taken name merges, and the tags' tasks change, with their events)."""

    list_display = ["name", "user_id", "created_at"]
    search_fields = ["name", "user_id"]
    readonly_fields = ["user_id", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj: Tag, form, change) -> None:
        if "name" in form.changed_data:
            old_name = Tag.objects.values_list("name", flat=True).get(pk=obj.pk)
            services.tag_rename(user_id=obj.user_id, name=old_name, new_name=obj.name)

    def delete_model(self, request, obj: Tag) -> None:
        services.tag_delete(user_id=obj.user_id, name=obj.name)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        with transaction.atomic():
            for tag in queryset:
                services.tag_delete(user_id=tag.user_id, name=tag.name)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "user_id", "status_code", "created_at"]
    search_fields = ["key", "user_id"]
    readonly_fields = ["user_id", "key", "fingerprint", "status_code", "response", "created_at"]
