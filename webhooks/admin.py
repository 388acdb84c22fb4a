from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from webhooks import services
from webhooks.models import Attempt, Delivery, Webhook

DELIVERY_ROW = ("event_type", "status", "attempts", "next_attempt_at", "created_at", "last_error")
ATTEMPT_ROW = ("number", "at", "status_code", "latency_ms", "error", "response")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = DELIVERY_ROW
    readonly_fields = DELIVERY_ROW
    show_change_link = True
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Webhooks are made by their users through the API (the only answer that shows the secret, which the
    admin never shows); here they can be read, turned on or off, and deleted."""

    list_display = ["id", "user_id", "url", "active", "failing_since", "created_at"]
    list_filter = ["active"]
    search_fields = ["user_id", "url"]
    fields = ["user_id", "url", "event_types", "description", "active", "disabled_reason", "failing_since",
              "created_at", "updated_at"]  # fmt: skip
    readonly_fields = ["user_id", "url", "event_types", "disabled_reason", "failing_since", "created_at", "updated_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in {"active", "description"}}
        services.webhook_update(user_id=obj.user_id, webhook_id=obj.id, **changes)


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ATTEMPT_ROW
    readonly_fields = ATTEMPT_ROW
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The deliveries' log, to read; `Redeliver` sends the selected ones again (as the API's redeliver)."""

    list_display = ["message_id", "user_id", "webhook", "event_type", "status", "attempts", "next_attempt_at",
                    "created_at"]  # fmt: skip
    list_filter = ["status", "event_type"]
    search_fields = ["user_id", "id", "event_id"]
    exclude = ["body"]
    readonly_fields = ["message_id", "webhook", "user_id", "event_id", "event_type", "status", "attempts",
                       "next_attempt_at", "leased_until", "task_id", "created_at", "finished_at", "last_error",
                       "payload"]  # fmt: skip
    inlines = [AttemptInline]
    actions = ["redeliver"]
    show_full_result_count = False

    @admin.display(description="Body")
    def payload(self, obj: Delivery) -> str:
        return obj.body

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhook")

    @admin.action(description="Redeliver the selected deliveries now", permissions=["redeliver"])
    def redeliver(self, request, queryset: QuerySet[Delivery]) -> None:
        sent = 0
        for delivery in queryset.select_related("webhook"):
            try:
                services.delivery_redeliver(user_id=delivery.user_id, webhook_id=delivery.webhook_id,
                                            delivery_id=delivery.id)  # fmt: skip
                sent += 1
            except ValidationError as error:
                self.message_user(request, f"{delivery.message_id}: {' '.join(error.messages)}", messages.WARNING)
        self.message_user(request, f"{sent} delivery(ies) enqueued again.", messages.SUCCESS)
