"""The webhooks API: the secret shown once, ownership (another user's webhooks and deliveries are 404s),
and every kind of target a webhook may not have (SSRF), refused before anything is stored."""

import socket

import pytest
from rest_framework.test import APIClient

from tests.conftest import USER_A, USER_B
from tests.webhooks.conftest import resolving
from webhooks.models import Webhook
from webhooks.services import MAX_WEBHOOKS_PER_USER

pytestmark = pytest.mark.django_db
PUBLIC = "93.184.215.14"  # a global unicast address (nothing is sent to it: the tests only create)


@pytest.fixture
def dns(monkeypatch):
    """hooks.example.com is public; internal.example and mixed.example are not (wholly)."""
    monkeypatch.setattr(socket, "getaddrinfo", resolving({
        "hooks.example.com": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "internal.example": ["10.1.2.3"],
        "mixed.example": [PUBLIC, "127.0.0.1"],
        "metadata.google.internal": ["169.254.169.254"],
    }))  # fmt: skip


def create(client: APIClient, user_id: str = USER_A, **body):
    return client.post(f"/api/{user_id}/webhooks", {"url": "https://hooks.example.com/todo", **body}, format="json")


def test_the_secret_is_shown_on_creation_only(api_a, dns):
    made = create(api_a, event_types=["todo.task.created", "todo.task.completed"], description="audit")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    assert body | {"id": 0, "secret": "", "created_at": "", "updated_at": ""} == {
        "id": 0, "url": "https://hooks.example.com/todo", "event_types": ["todo.task.completed", "todo.task.created"],
        "description": "audit", "active": True, "disabled_reason": "", "failing_since": None, "secret": "",
        "created_at": "", "updated_at": "",
    }  # fmt: skip
    for read in (api_a.get(f"/api/{USER_A}/webhooks/{body['id']}"), api_a.get(f"/api/{USER_A}/webhooks")):
        assert read.status_code == 200
        assert "secret" not in str(read.json())
        assert body["secret"] not in read.content.decode()
    assert Webhook.objects.get().secret == body["secret"]


def test_change_and_delete(api_a, dns):
    webhook_id = create(api_a).json()["id"]
    changed = api_a.patch(f"/api/{USER_A}/webhooks/{webhook_id}", {"active": False, "event_types": []}, format="json")
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    assert changed.json()["event_types"] == []
    assert api_a.patch(f"/api/{USER_A}/webhooks/{webhook_id}", {"secret": "x"}, format="json").status_code == 400
    assert api_a.delete(f"/api/{USER_A}/webhooks/{webhook_id}").status_code == 204
    assert api_a.get(f"/api/{USER_A}/webhooks/{webhook_id}").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("get", "/deliveries"),
     ("get", "/deliveries/00000000-0000-0000-0000-000000000001"),
     ("post", "/deliveries/00000000-0000-0000-0000-000000000001/redeliver")],
)  # fmt: skip
def test_another_users_webhook_is_not_found(client_for, dns, method, suffix):
    theirs = create(client_for(USER_B), USER_B).json()["id"]
    answer = getattr(client_for(USER_A), method)(f"/api/{USER_A}/webhooks/{theirs}{suffix}", {}, format="json")
    assert answer.status_code == 404
    assert Webhook.objects.get(id=theirs).active
    assert client_for(USER_A).get(f"/api/{USER_B}/webhooks").status_code == 403
    assert client_for(USER_A).get(f"/api/{USER_A}/webhooks").json() == []


def test_no_token_no_webhooks(dns):
    assert APIClient().get(f"/api/{USER_A}/webhooks").status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook", "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://LOCALHOST./hook",
        "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:7f00:1]/hook",
        "http://2130706433/hook", "http://0177.0.0.1/hook", "http://0x7f.0.0.1/hook", "http://127.1/hook",
        "http://0/hook", "http://0.0.0.0/hook", "http://[::]/hook",
        "http://10.0.0.1/hook", "http://172.16.0.1/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://[fd00:ec2::254]/hook",
        "http://[64:ff9b::a00:1]/hook", "http://[2002:7f00:1::]/hook", "http://224.0.0.1/hook",
        "http://240.0.0.1/hook", "http://255.255.255.255/hook",
        "http://internal.example/hook", "http://mixed.example/hook", "http://metadata.google.internal/",
        "http://unknown-host.invalid/hook",
        "file:///etc/passwd", "gopher://hooks.example.com/", "ftp://hooks.example.com/", "javascript:alert(1)",
        "data:text/plain,hi", "hooks.example.com/hook", "//hooks.example.com/hook", "https://", "http://:80/",
        "https://user:password@hooks.example.com/hook", "http://[fe80::1%25eth0]/hook", "http://[::1/hook",
        "http://hooks.example.com:99999/hook", "https://hooks.example.com/" + "a" * 2000, "",
    ],
)  # fmt: skip
def test_forbidden_targets_are_refused(api_a, dns, url):
    answer = create(api_a, url=url)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["url"]
    assert not Webhook.objects.exists()


def test_a_change_to_a_forbidden_target_is_refused_too(api_a, dns):
    webhook_id = create(api_a).json()["id"]
    answer = api_a.patch(f"/api/{USER_A}/webhooks/{webhook_id}", {"url": "http://10.0.0.1/"}, format="json")
    assert answer.status_code == 400
    assert "private" in answer.json()["url"][0]
    assert Webhook.objects.get().url == "https://hooks.example.com/todo"


@pytest.mark.parametrize(
    "body",
    [{"event_types": ["todo.task.exploded"]}, {"event_types": "todo.task.created"}, {"event_types": [1]},
     {"active": "yes"}, {"description": "x" * 201}, {"url": 5}, {"secret": "whsec_mine"}],
)  # fmt: skip
def test_invalid_bodies_are_400s(api_a, dns, body):
    assert create(api_a, **body).status_code == 400
    assert not Webhook.objects.exists()


def test_an_oversize_body_is_a_413(api_a, dns, settings):
    answer = create(api_a, description="x" * (settings.MAX_REQUEST_BODY_BYTES + 1))
    assert answer.status_code == 413
    assert answer.json()["detail"]


def test_at_most_so_many_webhooks_per_user(api_a, dns):
    for _ in range(MAX_WEBHOOKS_PER_USER):
        assert create(api_a).status_code == 201
    assert create(api_a).status_code == 400
    assert Webhook.objects.count() == MAX_WEBHOOKS_PER_USER


def test_private_targets_are_allowed_when_the_setting_says_so(api_a, dns, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert create(api_a, url="http://127.0.0.1:9/hook").status_code == 201
