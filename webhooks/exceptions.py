from django.core.exceptions import ObjectDoesNotExist


class WebhookNotFound(ObjectDoesNotExist):
    """No webhook with this id belongs to this user (whether it exists for someone else or not)."""

    def __init__(self, webhook_id: object) -> None:
        super().__init__(f"Webhook {webhook_id} not found.")


class DeliveryNotFound(ObjectDoesNotExist):
    def __init__(self, delivery_id: object) -> None:
        super().__init__(f"Delivery {delivery_id} not found.")
