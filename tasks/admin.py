from django.contrib import admin

from tasks.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "user_id", "completed", "created_at", "updated_at"]
    list_filter = ["completed", "created_at"]
    search_fields = ["title", "user_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50
    show_full_result_count = False
