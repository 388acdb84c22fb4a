"""Deliveries to a real HTTP receiver on loopback, through the real worker loop (django-tasks' database
backend): signed per Standard Webhooks, retried on schedule after a 500, a timeout or a receiver that is
down, then delivered or given up (the webhook turned off); never sent again after a success; no redirect
followed; an address checked again at delivery (DNS rebinding); nothing secret in the logs."""

import logging
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook as Verifier

from events.models import Event
from events.sequencer import sequence_round
from tasks import services as tasks
from tests.conftest import USER_A, USER_B
from tests.webhooks.conftest import closed_port, resolving, work, work_until
from webhooks import delivery as deliveries
from webhooks import services
from webhooks.models import Attempt, Delivery, Webhook

pytestmark = pytest.mark.django_db


def hook(url: str, **options) -> Webhook:
    return services.webhook_create(user_id=USER_A, url=url, **options)


def test_an_event_arrives_signed_and_the_log_says_so(receiver, api_a):
    webhook = hook(receiver.url())
    task_id = api_a.post(f"/api/{USER_A}/tasks", {"title": "water plants"}, format="json").json()["id"]
    work()
    [got] = receiver.received
    assert Verifier(webhook.secret).verify(got.body, got.headers)["data"]["task_id"] == task_id
    event = Event.objects.get()
    assert got.event["id"] == str(event.uuid)
    assert got.event["type"] == "todo.task.created"
    assert got.event["sequence"] == f"{event.sequence:020d}"
    assert got.event["data"]["event_type"] == "created"
    assert got.headers["content-type"].startswith("application/cloudevents+json")
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert got.path == "/hook"
    log = api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries").json()
    assert [(entry["status"], entry["attempts"], entry["message_id"]) for entry in log] == [
        ("delivered", 1, got.headers["webhook-id"])
    ]
    [attempt] = log[0]["log"]
    assert attempt["number"] == 1
    assert attempt["status_code"] == 200
    assert attempt["response"] == "answered 200"
    assert attempt["latency_ms"] is not None
    assert attempt["error"] == ""
    work()
    assert len(receiver.received) == 1


def test_only_the_types_asked_for_and_only_the_users_own(receiver):
    hook(receiver.url(), event_types=["todo.task.completed"])
    mine = tasks.task_create(user_id=USER_A, title="a")
    tasks.task_create(user_id=USER_B, title="theirs")
    tasks.task_toggle(user_id=USER_A, task_id=mine.id)
    work()
    assert [(got.event["type"], got.event["userid"]) for got in receiver.received] == [("todo.task.completed", USER_A)]


def test_a_500_is_retried_with_the_same_id_until_delivered_then_never_again(receiver, settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 0.2
    receiver.answer(500, 503)
    webhook = hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    first = Delivery.objects.get()
    assert first.status == "pending"
    assert first.attempts == 1
    assert first.last_error == "HTTP 500"
    assert timezone.now() < first.next_attempt_at < timezone.now() + timedelta(seconds=0.3)
    work()  # the retry is not due yet
    assert len(receiver.received) == 1
    work_until(lambda: Delivery.objects.get().status == "delivered")
    assert len(receiver.received) == 3
    assert len(set(receiver.ids())) == 1
    for got in receiver.received:  # each attempt signed anew, all valid
        Verifier(webhook.secret).verify(got.body, got.headers)
    assert [(a.number, a.status_code) for a in Attempt.objects.order_by("number")] == [(1, 500), (2, 503), (3, 200)]
    delivered = Delivery.objects.get()
    delivered.next_attempt_at = timezone.now() - timedelta(hours=1)  # as stale as it gets
    delivered.save()
    assert deliveries.recover() == 0
    work()
    assert len(receiver.received) == 3
    assert Webhook.objects.get().failing_since is None


def test_the_waits_grow_exponentially_with_jitter(settings):
    settings.WEBHOOK_BACKOFF_SECONDS, settings.WEBHOOK_BACKOFF_CAP_SECONDS = 5, 36000
    for number, base in [(1, 5), (2, 20), (3, 80), (8, 36000), (9, 36000)]:
        waits = {deliveries.backoff(number).total_seconds() for _ in range(20)}
        assert all(base * 0.75 <= wait <= base * 1.25 for wait in waits)
        assert len(waits) > 1


def test_the_default_schedule_lasts_about_a_day():
    import todo_project.settings as defaults  # the settings module's values, not this suite's

    spans = [defaults.WEBHOOK_BACKOFF_SECONDS * 4 ** (n - 1) for n in range(1, defaults.WEBHOOK_MAX_ATTEMPTS)]
    total = sum(min(defaults.WEBHOOK_BACKOFF_CAP_SECONDS, span) for span in spans)
    assert 20 * 3600 < total < 36 * 3600


def test_a_receiver_that_times_out_or_is_down_is_retried_then_given_up_and_turned_off(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(200, delay=1.0)  # answers too late
    slow = hook(receiver.url())
    down = hook(f"http://127.0.0.1:{closed_port()}/hook")
    tasks.task_create(user_id=USER_A, title="a")
    work_until(lambda: not Delivery.objects.filter(status="pending").exists())
    by_webhook = {d.webhook_id: d for d in Delivery.objects.all()}
    assert by_webhook[slow.id].status == "delivered"  # its second attempt was answered in time
    errors = [a.error for a in Attempt.objects.filter(delivery=by_webhook[slow.id]).order_by("number")]
    assert errors == ["No answer within 0.3 s.", ""]
    gone = by_webhook[down.id]
    assert gone.status == "failed"
    assert gone.attempts == settings.WEBHOOK_MAX_ATTEMPTS
    assert {a.error for a in gone.log.all()} == {"Could not connect."}
    assert "Gave up after 4 attempts" in gone.last_error
    down.refresh_from_db()
    slow.refresh_from_db()
    assert not down.active
    assert down.disabled_reason.startswith("Every attempt failed")
    assert slow.active
    assert slow.failing_since is None
    tasks.task_create(user_id=USER_A, title="b")  # a webhook turned off gets nothing more
    work()
    assert Delivery.objects.filter(webhook=down).count() == 1


def test_turning_off_ends_the_pending_deliveries_and_turning_on_forgets_the_failures(receiver, settings):
    settings.WEBHOOK_BACKOFF_SECONDS = settings.WEBHOOK_BACKOFF_CAP_SECONDS = 60
    receiver.answer(500)
    webhook = hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    assert Webhook.objects.get().failing_since is not None
    services.webhook_update(user_id=USER_A, webhook_id=webhook.id, active=False)
    Delivery.objects.update(next_attempt_at=timezone.now())
    DBTaskResult.objects.update(run_after=timezone.now())
    work()
    assert Delivery.objects.get().status == "failed"
    assert len(receiver.received) == 1
    again = services.webhook_update(user_id=USER_A, webhook_id=webhook.id, active=True)
    assert again.active
    assert again.failing_since is None
    assert again.disabled_reason == ""


def test_a_success_in_between_keeps_a_webhook_on(receiver, settings):
    """Sustained failure is every attempt failing: one delivery that gives up while others get through
    does not turn the webhook off."""
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_BACKOFF_SECONDS = settings.WEBHOOK_BACKOFF_CAP_SECONDS = 60
    webhook = hook(receiver.url())
    receiver.rule = lambda got: 500 if got.event["data"]["task_data"]["title"] == "a" else 200
    tasks.task_create(user_id=USER_A, title="a")
    work()  # its first attempt fails; the next is a minute away
    tasks.task_create(user_id=USER_A, title="b")
    work()  # gets through
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    work()  # the first event's last attempt fails
    assert [got.event["data"]["task_data"]["title"] for got in receiver.received] == ["a", "b", "a"]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered", "failed"]
    webhook.refresh_from_db()
    assert webhook.active


def test_a_redirect_is_not_followed(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answer(302, headers={"location": receiver.url("/elsewhere")})
    hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    assert [got.path for got in receiver.received] == ["/hook"]
    assert Attempt.objects.get().status_code == 302
    assert Delivery.objects.get().status == "failed"


def test_an_address_that_turns_private_after_creation_is_not_sent_to(receiver, settings, monkeypatch):
    """DNS rebinding: public when the webhook was made, loopback when the event goes out."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with monkeypatch.context() as dns:
        dns.setattr(socket, "getaddrinfo", resolving({"hooks.example.com": ["93.184.215.14"]}))
        hook(f"http://hooks.example.com:{receiver.port}/hook")
    monkeypatch.setattr(socket, "getaddrinfo", resolving({"hooks.example.com": ["127.0.0.1"]}))
    tasks.task_create(user_id=USER_A, title="a")
    work()
    assert receiver.received == []
    attempt = Attempt.objects.get()
    assert attempt.status_code is None
    assert "resolves to 127.0.0.1, a loopback address" in attempt.error


def test_the_connection_goes_to_the_address_checked_with_the_name_as_host(receiver, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", resolving({"hooks.example.com": ["127.0.0.1"]}))
    hook(f"http://hooks.example.com:{receiver.port}/hook?key=1")
    tasks.task_create(user_id=USER_A, title="a")
    work()
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.example.com:{receiver.port}"
    assert got.path == "/hook?key=1"


def test_redeliver_sends_the_same_message_again(receiver, api_a):
    webhook = hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    delivery_id = Delivery.objects.get().id
    url = f"/api/{USER_A}/webhooks/{webhook.id}/deliveries/{delivery_id}"
    answer = api_a.post(f"{url}/redeliver")
    assert answer.status_code == 202
    assert answer.json()["status"] == "pending"
    work()
    assert len(receiver.received) == 2
    assert len(set(receiver.ids())) == 1
    assert receiver.received[0].body == receiver.received[1].body
    one = api_a.get(url).json()
    assert one["status"] == "delivered"
    assert [a["number"] for a in one["log"]] == [1, 2]
    assert api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries?status=failed").json() == []
    assert api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries?status=odd").status_code == 400
    assert api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries?limit=0").status_code == 400
    assert api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries/not-a-uuid").status_code == 404
    services.webhook_update(user_id=USER_A, webhook_id=webhook.id, active=False)
    assert api_a.post(f"{url}/redeliver").status_code == 400


def test_an_attempt_whose_worker_died_is_made_again(receiver):
    """A worker that dies mid-attempt leaves its task running and its lease held; once the lease is past,
    recover() enqueues the attempt again, and it is delivered once."""
    hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    sequence_round()  # numbered, its delivery made and enqueued; no task run
    pending = Delivery.objects.get()
    DBTaskResult.objects.filter(id=pending.task_id).update(status="RUNNING", started_at=timezone.now())
    past = timezone.now() - timedelta(minutes=5)
    Delivery.objects.update(leased_until=past, next_attempt_at=past)
    assert deliveries.recover() == 1
    assert deliveries.recover() == 0  # its new task is waiting
    work()
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == "delivered"


def test_a_task_that_finds_its_attempt_made_does_nothing(receiver):
    hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    delivery = Delivery.objects.get()
    assert deliveries.attempt(delivery.id, 1) == "nothing to do"
    assert deliveries.attempt(delivery.id, 2) == "nothing to do"  # delivered: no attempt 2 either
    assert len(receiver.received) == 1


def test_nothing_secret_reaches_the_logs(receiver, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(socket, "getaddrinfo", resolving({"hooks.example.com": ["127.0.0.1"]}))
    receiver.answer(500)
    webhook = hook(f"http://hooks.example.com:{receiver.port}/hook?token=hunter2")
    tasks.task_create(user_id=USER_A, title="a")
    work_until(lambda: Delivery.objects.get().status == "delivered")
    text = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert f"webhook {webhook.id}" in text
    for secret in (webhook.secret, webhook.secret.removeprefix("whsec_"), "hunter2",
                   receiver.received[0].headers["webhook-signature"]):  # fmt: skip
        assert secret not in text


def test_deleting_a_webhook_leaves_its_enqueued_attempts_nothing_to_do(receiver):
    webhook = hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    sequence_round()
    services.webhook_delete(user_id=USER_A, webhook_id=webhook.id)
    work()
    assert receiver.received == []
    assert not Delivery.objects.exists()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_prune_keeps_pending_and_recent_deliveries(receiver, settings):
    hook(receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    work()
    later = timezone.now() + settings.EVENTS_RETENTION + timedelta(minutes=1)
    assert deliveries.prune() == 0
    assert deliveries.prune(now=later) >= 1
    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_the_deliveries_answer_as_the_openapi_description_says(receiver, api_a):
    """The CloudEvent component (and its data's) describes what a webhook really receives."""
    from drf_spectacular.generators import SchemaGenerator
    from jsonschema import Draft202012Validator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]

    def plain(node):  # OpenAPI 3.0's nullable as JSON Schema says it
        if isinstance(node, list):
            return [plain(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: plain(value) for key, value in node.items()}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node

    def validate(value, name):
        root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": plain(schemas)}}
        Draft202012Validator(root).validate(value)

    webhook = hook(receiver.url())
    made = api_a.post(f"/api/{USER_A}/tasks", {"title": "water plants", "tags": ["home"]}, format="json")
    task_id = made.json()["id"]
    api_a.patch(f"/api/{USER_A}/tasks/{task_id}/complete", {"completed": True}, format="json")
    api_a.post(f"/api/{USER_A}/lists", {"name": "Garden"}, format="json")
    tasks.tag_rename(user_id=USER_A, name="home", new_name="house")
    work()
    assert {"todo.task.created", "todo.task.completed", "todo.list.created", "todo.tag.renamed"} <= {
        got.event["type"] for got in receiver.received
    }
    for got in receiver.received:
        validate(got.event, "CloudEvent")
    for delivery in api_a.get(f"/api/{USER_A}/webhooks/{webhook.id}/deliveries").json():
        validate(delivery, "Delivery")
    with pytest.raises(Exception, match="is not one of"):  # the check can fail
        validate({**receiver.received[0].event, "type": "todo.task.exploded"}, "CloudEvent")
