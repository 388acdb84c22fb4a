from django.urls import re_path

from chat.chatkit.views import ChatKitView
from chat.views import ChatStreamView, ChatView, ConversationViewSet
from todo_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = [
    re_path(r"^chat/?$", ChatView.as_view(), name="chat"),
    re_path(r"^chat/stream/?$", ChatStreamView.as_view(), name="chat-stream"),
    re_path(r"^chatkit/?$", ChatKitView.as_view(), name="chatkit"),
    *router.urls,
]
