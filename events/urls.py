from django.urls import re_path

from events.views import EventStreamView

urlpatterns = [re_path(r"^events/?$", EventStreamView.as_view(), name="event-stream")]
