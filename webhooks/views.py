"""The webhooks REST API: /api/<user_id>/webhooks and their deliveries. A thin adapter over
webhooks.services; reads are scoped to the caller like every other query."""

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from todo_project.api import ERRORS, VALIDATION_ERROR, CallerMixin, ErrorSerializer
from webhooks import services
from webhooks.exceptions import DeliveryNotFound
from webhooks.models import Delivery, Webhook
from webhooks.serializers import DeliverySerializer, NewWebhookSerializer, WebhookSerializer

NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such webhook (or delivery) for this user")}
WEBHOOK_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The webhook id.")
DELIVERY_ID = OpenApiParameter("delivery_id", str, OpenApiParameter.PATH, description="The delivery id (a UUID).")
LIMIT = OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                         description="How many deliveries, newest first.")  # fmt: skip
STATUS = OpenApiParameter("status", str, enum=Delivery.Status.values, description="Only deliveries in this state.")


@extend_schema_view(
    list=extend_schema(summary="The user's webhooks", responses={200: WebhookSerializer(many=True), **ERRORS}),
    create=extend_schema(
        summary="Add a webhook: the answer holds its signing secret, shown this once",
        request=WebhookSerializer,
        responses={201: NewWebhookSerializer, 400: VALIDATION_ERROR, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a webhook", parameters=[WEBHOOK_ID], responses={200: WebhookSerializer, **ERRORS, **NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Change a webhook (active: true turns it on again and forgets its failures)",
        parameters=[WEBHOOK_ID],
        responses={200: WebhookSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    update=extend_schema(
        summary="Change a webhook (partial)",
        parameters=[WEBHOOK_ID],
        request=WebhookSerializer(partial=True),
        responses={200: WebhookSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a webhook and its deliveries' log",
        parameters=[WEBHOOK_ID],
        responses={204: None, **ERRORS, **NOT_FOUND},
    ),
    deliveries=extend_schema(
        summary="A webhook's deliveries, newest first, each with its attempts' log",
        parameters=[WEBHOOK_ID, LIMIT, STATUS],
        responses={200: DeliverySerializer(many=True), 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    delivery=extend_schema(
        summary="One delivery with its attempts' log",
        parameters=[WEBHOOK_ID, DELIVERY_ID],
        responses={200: DeliverySerializer, **ERRORS, **NOT_FOUND},
    ),
    redeliver=extend_schema(
        summary="Send a delivery again now (same webhook-id and body, a new signature)",
        parameters=[WEBHOOK_ID, DELIVERY_ID],
        request=None,
        responses={202: DeliverySerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["webhooks"])
class WebhookViewSet(CallerMixin, viewsets.GenericViewSet):
    serializer_class = WebhookSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def list(self, request: Request, user_id: str) -> Response:
        return Response(WebhookSerializer(Webhook.objects.filter(user_id=self.caller_id), many=True).data)

    def create(self, request: Request, user_id: str) -> Response:
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = services.webhook_create(user_id=self.caller_id, **body.validated_data)
        return Response(NewWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, user_id: str, pk: str) -> Response:
        return Response(WebhookSerializer(services.webhook_get(user_id=self.caller_id, webhook_id=int(pk))).data)

    def update(self, request: Request, user_id: str, pk: str) -> Response:
        body = WebhookSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        webhook = services.webhook_update(user_id=self.caller_id, webhook_id=int(pk), **body.validated_data)
        return Response(WebhookSerializer(webhook).data)

    partial_update = update

    def destroy(self, request: Request, user_id: str, pk: str) -> Response:
        services.webhook_delete(user_id=self.caller_id, webhook_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, user_id: str, pk: str) -> Response:
        webhook = services.webhook_get(user_id=self.caller_id, webhook_id=int(pk))
        found = Delivery.objects.filter(webhook=webhook).prefetch_related("log").order_by("-created_at")
        if (wanted := request.query_params.get("status")) is not None:
            if wanted not in Delivery.Status.values:
                raise ValidationError({"status": [f"Must be one of {', '.join(Delivery.Status.values)}."]})
            found = found.filter(status=wanted)
        limit = request.query_params.get("limit", "50")
        if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 100):
            raise ValidationError({"limit": ["Must be a whole number from 1 to 100."]})
        return Response(DeliverySerializer(found[: int(limit)], many=True).data)

    @action(detail=True, methods=["get"], url_path=r"deliveries/(?P<delivery_id>[^/.]+)")
    def delivery(self, request: Request, user_id: str, pk: str, delivery_id: str) -> Response:
        webhook = services.webhook_get(user_id=self.caller_id, webhook_id=int(pk))
        found = Delivery.objects.filter(webhook=webhook, id=_uuid(delivery_id)).prefetch_related("log").first()
        if found is None:
            raise DeliveryNotFound(delivery_id)
        return Response(DeliverySerializer(found).data)

    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[^/.]+)/redeliver")
    def redeliver(self, request: Request, user_id: str, pk: str, delivery_id: str) -> Response:
        delivery = services.delivery_redeliver(
            user_id=self.caller_id, webhook_id=int(pk), delivery_id=_uuid(delivery_id)
        )
        found = Delivery.objects.prefetch_related("log").get(id=delivery.id)
        return Response(DeliverySerializer(found).data, status=status.HTTP_202_ACCEPTED)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DeliveryNotFound(text) from None
