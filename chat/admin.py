from django.contrib import admin

from chat.models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "role", "content", "tool_calls"]
    readonly_fields = ["created_at", "role", "content", "tool_calls"]
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "user_id", "created_at", "updated_at"]
    list_filter = ["created_at"]
    search_fields = ["title", "user_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "user_id", "role", "short_content", "created_at"]
    list_filter = ["role", "created_at"]
    search_fields = ["content", "user_id"]
    list_select_related = ["conversation"]
    readonly_fields = ["created_at"]

    @admin.display(description="content")
    def short_content(self, message: Message) -> str:
        return message.content[:80]
