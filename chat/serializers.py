from django.conf import settings
from rest_framework import serializers

from chat.models import Conversation, Message
from todo_project.api import RejectUnknownFieldsMixin, StrictCharField


class ChatRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    message = StrictCharField(help_text="What the user says.")
    conversation_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Continue this conversation; omit to start one."
    )

    def validate_message(self, value: str) -> str:
        limit = settings.CHAT_MAX_MESSAGE_CHARS
        if len(value) > limit:
            raise serializers.ValidationError(f"Ensure this field has no more than {limit} characters.")
        return value


class ToolCallSerializer(serializers.Serializer):
    name = serializers.CharField()
    arguments = serializers.DictField()
    result = serializers.JSONField()


class ChatResponseSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    response = serializers.CharField()
    tool_calls = ToolCallSerializer(many=True)


class ChatErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    conversation_id = serializers.IntegerField(required=False)


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "role", "content", "tool_calls", "created_at"]


class ConversationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conversation
        fields = ["id", "user_id", "title", "created_at", "updated_at"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
