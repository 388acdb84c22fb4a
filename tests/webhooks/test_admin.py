"""The admin reads webhooks and their deliveries (never a secret), turns webhooks on and off through the
services, and redelivers."""

import pytest

from tasks import services as tasks
from tests.conftest import USER_A
from tests.webhooks.conftest import work
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def test_webhooks_and_deliveries_are_shown_without_their_secret(admin_client, receiver):
    webhook = services.webhook_create(user_id=USER_A, url=receiver.url(), description="audit")
    tasks.task_create(user_id=USER_A, title="water plants")
    work()
    delivery = Delivery.objects.get()
    pages = [
        admin_client.get("/admin/webhooks/webhook/"),
        admin_client.get(f"/admin/webhooks/webhook/{webhook.id}/change/"),
        admin_client.get("/admin/webhooks/delivery/"),
        admin_client.get(f"/admin/webhooks/delivery/{delivery.id}/change/"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    for page in pages:
        assert webhook.secret not in page.content.decode()
        assert webhook.secret.removeprefix("whsec_") not in page.content.decode()
    assert "answered 200" in pages[3].content.decode()  # the attempt's log
    assert "water plants" in pages[3].content.decode()  # the body
    assert admin_client.get("/admin/webhooks/webhook/add/").status_code == 403


def test_turning_a_webhook_off_in_the_admin(admin_client, receiver):
    webhook = services.webhook_create(user_id=USER_A, url=receiver.url())
    answer = admin_client.post(
        f"/admin/webhooks/webhook/{webhook.id}/change/",
        {"description": "paused", "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    webhook.refresh_from_db()
    assert not webhook.active
    assert webhook.description == "paused"


def test_redeliver_from_the_admin(admin_client, receiver):
    services.webhook_create(user_id=USER_A, url=receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    delivery = Delivery.objects.get()
    answer = admin_client.post(
        "/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [str(delivery.id)]}
    )
    assert answer.status_code == 302
    work()
    assert len(receiver.received) == 2
    assert len(set(receiver.ids())) == 1
