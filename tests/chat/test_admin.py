"""Conversations in the admin, with their messages inline."""

import pytest

from tests.conftest import USER_A

pytestmark = pytest.mark.django_db


def test_conversation_shows_in_the_admin_with_its_messages(admin_client, api_a):
    conversation_id = api_a.post(f"/api/{USER_A}/chat", {"message": "add buy milk"}, format="json").json()[
        "conversation_id"
    ]

    listing = admin_client.get("/admin/chat/conversation/", {"q": USER_A})
    detail = admin_client.get(f"/admin/chat/conversation/{conversation_id}/change/")
    messages = admin_client.get("/admin/chat/message/", {"role__exact": "tool"})

    assert listing.status_code == detail.status_code == messages.status_code == 200
    assert "add buy milk" in listing.content.decode()
    page = detail.content.decode()
    assert "add buy milk" in page
    assert "Added “Buy milk”" in page
    assert "add_task" in page
    assert "created" in messages.content.decode()
