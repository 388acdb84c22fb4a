"""The assistant and the task fields: priority, tags, due dates (in the user's time zone) and recurrence.

"Now" is the real now: expectations are computed in the request's time zone just before and just after
the request, so a test that straddles midnight still knows both possible answers.
"""

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from asgiref.sync import async_to_sync

from chat.agent import build_agent, run_turn
from chat.models import Conversation
from chat.offline import Call, next_step
from chat.phrases import parse_recurrence
from chat.tools import ChatContext
from tasks import selectors, services
from tests.chat.conftest import reply, tool_call
from tests.conftest import USER_A

BERLIN, AUCKLAND, LOS_ANGELES = "Europe/Berlin", "Pacific/Auckland", "America/Los_Angeles"


def chat(client, message, time_zone=None, path="chat"):
    headers = {"HTTP_X_TIMEZONE": time_zone} if time_zone else {}
    return client.post(f"/api/{USER_A}/{path}", {"message": message}, format="json", **headers)


def calls(response):
    return [(call["name"], call["arguments"]) for call in response.json()["tool_calls"]]


def tasks_of(client):
    return client.get(f"/api/{USER_A}/tasks").json()


def only_task(client):
    [task] = tasks_of(client)
    return task


def due_of(task):
    return datetime.fromisoformat(task["due_at"])


def today_in(zone):
    return datetime.now(ZoneInfo(zone)).date()


def at(day, wall, zone):
    return datetime.combine(day, wall, tzinfo=ZoneInfo(zone))


def end_of_day(zone, days=0):
    """23:59 local, `days` after today: when a day without a time is due."""
    return at(today_in(zone) + timedelta(days=days), time(23, 59), zone)


def around(request, expect):
    """The response of `request()`, and what `expect()` gives just before and just after it."""
    before = expect()
    response = request()
    return response, {before, expect()}


def create(**fields):
    return services.task_create(user_id=USER_A, **{"title": "Task", **fields})


# Adding with the new fields, through HTTP and the offline model.


@pytest.mark.django_db
def test_add_buy_milk_tomorrow_high_priority_errands(api_a):
    response, expected = around(
        lambda: chat(api_a, "add buy milk tomorrow high priority #errands", BERLIN), lambda: end_of_day(BERLIN, 1)
    )

    assert response.status_code == 200
    assert calls(response) == [
        ("add_task", {"title": "Buy milk", "due": "tomorrow", "priority": "high", "tags": ["errands"]})
    ]
    task = only_task(api_a)
    assert {name: task[name] for name in ("title", "priority", "tags", "recurrence")} == {
        "title": "Buy milk", "priority": "high", "tags": ["errands"], "recurrence": None,
    }  # fmt: skip
    assert due_of(task) in expected
    text = response.json()["response"]
    assert text.startswith(f"Added “Buy milk” (task {task['id']}), due tomorrow (")
    assert text.endswith("), high priority, #errands.")


@pytest.mark.django_db
def test_tomorrow_is_read_in_the_header_time_zone(api_a):
    auckland, expected_auckland = around(
        lambda: chat(api_a, "add call mom tomorrow", AUCKLAND), lambda: end_of_day(AUCKLAND, 1)
    )
    los_angeles, expected_los_angeles = around(
        lambda: chat(api_a, "add call dad tomorrow", LOS_ANGELES), lambda: end_of_day(LOS_ANGELES, 1)
    )

    by_title = {task["title"]: due_of(task) for task in tasks_of(api_a)}
    assert by_title["Call mom"] in expected_auckland
    assert by_title["Call dad"] in expected_los_angeles
    assert by_title["Call mom"] != by_title["Call dad"]  # 21 hours apart: two different instants
    assert auckland.json()["tool_calls"][0]["result"]["due_at"].endswith(("+13:00", "+12:00"))  # the user's offset
    assert los_angeles.json()["tool_calls"][0]["result"]["due_at"].endswith(("-08:00", "-07:00"))


@pytest.mark.django_db
def test_without_a_header_dates_are_utc(api_a):
    response, expected = around(lambda: chat(api_a, "add pay bills tomorrow"), lambda: end_of_day("UTC", 1))

    assert due_of(only_task(api_a)) in expected
    assert response.json()["tool_calls"][0]["result"]["due_at"].endswith("+00:00")


@pytest.mark.django_db
def test_a_time_of_day_is_kept(api_a):
    response, expected = around(
        lambda: chat(api_a, "add meet Bob tomorrow at 5pm", BERLIN),
        lambda: at(today_in(BERLIN) + timedelta(days=1), time(17), BERLIN),
    )

    assert calls(response) == [("add_task", {"title": "Meet Bob", "due": "tomorrow at 5pm"})]
    assert due_of(only_task(api_a)) in expected
    assert ", 17:00)" in response.json()["response"]


@pytest.mark.django_db
def test_add_call_mom_on_friday_family(api_a):
    response = chat(api_a, "add call mom on friday #family", AUCKLAND)

    assert calls(response) == [("add_task", {"title": "Call mom", "due": "friday", "tags": ["family"]})]
    task = only_task(api_a)
    due = due_of(task).astimezone(ZoneInfo(AUCKLAND))
    assert (due.strftime("%A"), due.time()) == ("Friday", time(23, 59))
    assert 0 < (due.date() - today_in(AUCKLAND)).days <= 7
    assert task["tags"] == ["family"]


@pytest.mark.django_db
def test_remind_me_to_pay_rent_every_month_on_the_1st(api_a):
    response = chat(api_a, "remind me to pay rent every month on the 1st", BERLIN)

    assert calls(response) == [("add_task", {"title": "Pay rent", "recurrence": "every month on the 1st"})]
    task = only_task(api_a)
    assert task["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    due = due_of(task).astimezone(ZoneInfo(BERLIN))
    assert (due.day, due.time()) == (1, time(23, 59))
    assert 0 <= (due.date() - today_in(BERLIN)).days <= 31
    assert "repeats every month on the 1st" in response.json()["response"]


@pytest.mark.django_db
def test_add_water_plants_every_monday(api_a):
    response = chat(api_a, "add water plants every monday", LOS_ANGELES)

    assert calls(response) == [("add_task", {"title": "Water plants", "recurrence": "every monday"})]
    task = only_task(api_a)
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    due = due_of(task).astimezone(ZoneInfo(LOS_ANGELES))
    assert due.weekday() == 0  # the series starts on one of its days
    assert 0 <= (due.date() - today_in(LOS_ANGELES)).days < 7


@pytest.mark.django_db
def test_a_monthly_task_repeats_monthly(api_a):
    chat(api_a, "add send invoices monthly", BERLIN)

    task = only_task(api_a)
    assert task["recurrence"] == "FREQ=MONTHLY"
    assert due_of(task).astimezone(ZoneInfo(BERLIN)).date() in {today_in(BERLIN), today_in(BERLIN) - timedelta(1)}


@pytest.mark.django_db
def test_an_unknown_time_zone_is_400_and_stores_nothing(api_a):
    for path in ("chat", "chat/stream"):
        response = chat(api_a, "add buy milk tomorrow", "Mars/Olympus_Mons", path)

        assert response.status_code == 400
        assert response.json() == {
            "X-Timezone": ["Unknown time zone 'Mars/Olympus_Mons'; use an IANA name like Europe/Berlin."]
        }
    assert not Conversation.objects.exists()
    assert tasks_of(api_a) == []


@pytest.mark.django_db(transaction=True)
def test_the_stream_reads_the_time_zone_too(api_a):
    response, expected = around(
        lambda: b"".join(chat(api_a, "add call mom tomorrow", AUCKLAND, "chat/stream").streaming_content),
        lambda: end_of_day(AUCKLAND, 1),
    )

    assert b"event: done" in response
    assert due_of(only_task(api_a)) in expected


# Asking about tasks.


@pytest.mark.django_db
def test_what_is_due_this_week(api_a):
    monday = today_in(BERLIN) - timedelta(days=today_in(BERLIN).weekday())
    sunday = create(title="Sunday", due_at=at(monday + timedelta(6), time(23, 59), BERLIN))
    overdue = create(title="Overdue", due_at=datetime.now(ZoneInfo(BERLIN)) - timedelta(days=8))
    create(title="Next week", due_at=at(monday + timedelta(7), time(0, 30), BERLIN))
    create(title="Done", completed=True, due_at=at(monday + timedelta(6), time(12), BERLIN))
    create(title="Someday")

    response = chat(api_a, "What is due this week?", BERLIN)

    assert calls(response) == [("list_tasks", {"due_before": "end of this week", "status": "pending"})]
    listed = response.json()["tool_calls"][0]["result"]
    assert [task["id"] for task in listed] == [overdue.id, sunday.id]  # soonest due first
    text = response.json()["response"]
    assert text.startswith("Here are your pending tasks due by the end of this week (2):")
    assert f"• {sunday.id}: Sunday — due " in text


@pytest.mark.django_db
def test_what_is_due_today(api_a):
    today = create(title="Today", due_at=end_of_day(LOS_ANGELES))
    create(title="Tomorrow", due_at=end_of_day(LOS_ANGELES, 1))

    response = chat(api_a, "what is due today", LOS_ANGELES)

    assert calls(response) == [("list_tasks", {"due_before": "end of today", "status": "pending"})]
    assert [task["id"] for task in response.json()["tool_calls"][0]["result"]] == [today.id]
    assert "due today (" in response.json()["response"]


@pytest.mark.django_db
def test_whats_overdue(api_a):
    late = create(title="Late", due_at=datetime.now(ZoneInfo("UTC")) - timedelta(hours=1))
    create(title="Late but done", completed=True, due_at=datetime.now(ZoneInfo("UTC")) - timedelta(hours=1))
    create(title="Not yet", due_at=end_of_day(BERLIN, 1))

    response = chat(api_a, "What's overdue?", BERLIN)

    assert calls(response) == [("list_tasks", {"overdue": True})]
    assert [task["id"] for task in response.json()["tool_calls"][0]["result"]] == [late.id]
    assert response.json()["response"].startswith("Here are your overdue tasks (1):")


@pytest.mark.django_db
def test_nothing_overdue_says_so(api_a):
    assert chat(api_a, "what's overdue").json()["response"] == "You have no overdue tasks."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "message", ["show tasks tagged errands", "show my #errands tasks", "show tasks tagged Errands"]
)
def test_show_tasks_tagged_errands(api_a, message):
    errand = create(title="Buy milk", tags=["errands", "shop"])
    create(title="Call mom", tags=["family"])
    create(title="Untagged")

    response = chat(api_a, message)

    assert calls(response) == [("list_tasks", {"tag": "errands"})]
    [listed] = response.json()["tool_calls"][0]["result"]
    assert (listed["id"], listed["tags"]) == (errand.id, ["errands", "shop"])
    assert response.json()["response"].startswith("Here are your tasks tagged #errands (1):")
    assert "#errands #shop" in response.json()["response"]


@pytest.mark.django_db
def test_show_high_priority_tasks(api_a):
    high = create(title="Taxes", priority="high")
    create(title="Dishes", priority="low")

    response = chat(api_a, "show high priority tasks")

    assert calls(response) == [("list_tasks", {"priority": "high"})]
    assert [task["id"] for task in response.json()["tool_calls"][0]["result"]] == [high.id]
    assert "Taxes — high priority" in response.json()["response"]


@pytest.mark.django_db
def test_set_priority_and_move_a_task(api_a):
    task = create(title="Report")

    chat(api_a, f"set task {task.id} priority to high", BERLIN)
    response, expected = around(
        lambda: chat(api_a, f"move task {task.id} to tomorrow", BERLIN), lambda: end_of_day(BERLIN, 1)
    )

    changed = only_task(api_a)
    assert changed["priority"] == "high"
    assert due_of(changed) in expected
    assert response.json()["response"].startswith(f"Updated task {task.id} “Report”: due tomorrow (")


@pytest.mark.django_db
def test_completing_a_repeating_task_moves_it_in_the_header_time_zone(api_a):
    due = end_of_day(BERLIN)
    task = create(title="Stretch", due_at=due, recurrence="FREQ=DAILY")

    response = chat(api_a, f"complete task {task.id}", BERLIN)

    result = response.json()["tool_calls"][0]["result"]
    assert result["status"] == "completed"
    assert datetime.fromisoformat(result["next_due_at"]) == due + timedelta(days=1)
    assert only_task(api_a)["completed"] is False
    assert "It repeats every day: next due tomorrow (" in response.json()["response"]


# The tools, driven by the SDK's ScriptedModel (what an LLM would call).


def run_tool(name, time_zone="UTC", **arguments):
    model = ScriptedModel([[function_call(name, arguments, call_id="call-1")], [assistant_message("ok")]])
    context = ChatContext(user_id=USER_A, zone=ZoneInfo(time_zone))
    async_to_sync(run_turn)(context, [{"role": "user", "content": "do it"}], build_agent(model))
    [call] = context.tool_calls
    return call["result"]


@pytest.mark.django_db
def test_add_task_with_every_field():
    result = run_tool(
        "add_task", BERLIN, title="Dentist", description="Bring the card", priority="medium",
        tags=["#Health", "health", "town"], due="2030-12-02T09:00:00Z", recurrence="FREQ=YEARLY",
    )  # fmt: skip

    task = selectors.task_get(user_id=USER_A, task_id=result["task_id"])
    assert result == {
        "task_id": result["task_id"], "status": "created", "title": "Dentist", "priority": "medium",
        "tags": ["health", "town"], "due_at": "2030-12-02T10:00:00+01:00", "recurrence": "FREQ=YEARLY",
        "repeats": "every year",
    }  # fmt: skip
    assert task.due_at == datetime(2030, 12, 2, 9, tzinfo=ZoneInfo("UTC"))
    assert task.description == "Bring the card"


@pytest.mark.django_db
@pytest.mark.parametrize("due", ["someday soon-ish", "the 45th of Smarch", "x" * 101])
def test_add_task_with_an_unreadable_due_date_creates_nothing(task_factory, due):
    result = run_tool("add_task", title="Mystery", due=due)

    assert result["status"] == "invalid"
    assert set(result["errors"]) == {"due"}
    assert not task_factory._meta.model.objects.exists()


@pytest.mark.django_db
def test_add_task_with_an_unreadable_recurrence_creates_nothing(task_factory):
    result = run_tool("add_task", title="Mystery", recurrence="every blue moon")

    assert result["status"] == "invalid"
    assert "every monday" in result["errors"]["recurrence"][0]
    assert not task_factory._meta.model.objects.exists()


@pytest.mark.django_db
def test_a_date_only_due_is_the_end_of_that_day_and_a_time_zone_gap_moves_forward():
    assert run_tool("add_task", BERLIN, title="A", due="2030-12-02")["due_at"] == "2030-12-02T23:59:00+01:00"
    assert run_tool("add_task", BERLIN, title="B", due="2030-03-31 02:30")["due_at"] == "2030-03-31T03:30:00+02:00"


@pytest.mark.django_db
def test_the_series_starts_on_a_day_of_the_rule():
    result = run_tool("add_task", BERLIN, title="Standup", due="2030-12-04T09:00:00+01:00", recurrence="every monday")

    assert result["due_at"] == "2030-12-09T09:00:00+01:00"  # the Wednesday moves to the following Monday
    assert result["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"


@pytest.mark.parametrize(
    ("phrase", "rule"),
    [
        ("daily", "FREQ=DAILY"),
        ("every day", "FREQ=DAILY"),
        ("weekly", "FREQ=WEEKLY"),
        ("every week", "FREQ=WEEKLY"),
        ("every monday", "FREQ=WEEKLY;BYDAY=MO"),
        ("every Monday and Wednesday", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("monthly", "FREQ=MONTHLY"),
        ("every month", "FREQ=MONTHLY"),
        ("every month on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1"),
        ("on the 15th of every month", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("yearly", "FREQ=YEARLY"),
        ("annually", "FREQ=YEARLY"),
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
        ("every other week", "FREQ=WEEKLY;INTERVAL=2"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3"),
        ("every 2 weeks on tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("none", None),
    ],
)
def test_recurrence_phrases(phrase, rule):
    assert parse_recurrence(phrase) == rule


@pytest.mark.django_db
def test_update_task_changes_the_new_fields_and_removes_them_with_none():
    task = create(title="Gym", tags=["health"])

    moved = run_tool(
        "update_task", AUCKLAND, task_id=task.id, priority="low", tags=["sport"], due="2030-12-02 07:00",
        recurrence="every monday",
    )  # fmt: skip
    cleared = run_tool("update_task", AUCKLAND, task_id=task.id, tags=[], due="none", recurrence="none")

    assert moved == {
        "task_id": task.id, "status": "updated", "title": "Gym", "priority": "low", "tags": ["sport"],
        "due_at": "2030-12-02T07:00:00+13:00", "recurrence": "FREQ=WEEKLY;BYDAY=MO", "repeats": "every week on Monday",
    }  # fmt: skip
    assert cleared == {"task_id": task.id, "status": "updated", "title": "Gym", "priority": "low"}


@pytest.mark.django_db
def test_update_task_recurrence_on_a_task_without_due_date_starts_it():
    task = create(title="Bins")

    result = run_tool("update_task", BERLIN, task_id=task.id, recurrence="every thursday")

    due = datetime.fromisoformat(result["due_at"])
    assert (due.weekday(), due.time()) == (3, time(23, 59))
    assert 0 <= (due.date() - today_in(BERLIN)).days < 7


@pytest.mark.django_db
def test_update_task_of_another_user_with_a_recurrence_is_not_found(task_factory):
    foreign = task_factory(user_id="user-b")

    result = run_tool("update_task", task_id=foreign.id, recurrence="daily")

    assert result["status"] == "not_found"


@pytest.mark.django_db
def test_list_tasks_filters_and_shape():
    now = datetime.now(ZoneInfo(BERLIN))
    soon = create(title="Soon milk", priority="high", tags=["errands"], due_at=now + timedelta(hours=1))
    later = create(title="Later milk", priority="medium", tags=["home"], due_at=now + timedelta(days=40))
    low = create(title="Low", priority="low", tags=["errands"])
    next_week = at(now.date() + timedelta(days=7 - now.weekday()), time(0), BERLIN)

    assert run_tool("list_tasks", BERLIN, priority="high,medium", tag="errands,home", search="milk") == [
        {"id": later.id, "title": "Later milk", "completed": False, "priority": "medium", "tags": ["home"],
         "due_at": later.due_at.astimezone(ZoneInfo(BERLIN)).isoformat(timespec="seconds")},
        {"id": soon.id, "title": "Soon milk", "completed": False, "priority": "high", "tags": ["errands"],
         "due_at": soon.due_at.astimezone(ZoneInfo(BERLIN)).isoformat(timespec="seconds")},
    ]  # fmt: skip
    assert [t["id"] for t in run_tool("list_tasks", BERLIN, due_after="now", due_before="in 2 weeks")] == [soon.id]
    assert [t["id"] for t in run_tool("list_tasks", BERLIN, due_after="start of next week")] == [
        task.id for task in (soon, later) if task.due_at >= next_week
    ]
    assert [t["id"] for t in run_tool("list_tasks", BERLIN, tag="#errands", priority="low")] == [low.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"due_before": "when pigs fly"}, "due_before"),
        ({"due_after": "the 45th of Smarch"}, "due_after"),
    ],
)
def test_list_tasks_with_invalid_filters_is_invalid(arguments, field):
    result = run_tool("list_tasks", **arguments)

    assert result["status"] == "invalid"
    assert set(result["errors"]) == {field}


@pytest.mark.django_db
def test_a_real_model_passes_the_new_arguments(api_a, fake_provider):
    fake_provider.script = [
        tool_call("add_task", title="Dentist", description=None, priority="high", tags=["health"],
                  due="2030-12-02T09:00:00Z", recurrence="every 6 months"),
        reply("Added."),
    ]  # fmt: skip

    response = chat(api_a, "dentist every 6 months from dec 2 2030 9 UTC, high priority #health", BERLIN)

    assert response.status_code == 200
    task = only_task(api_a)
    assert (task["priority"], task["tags"], task["due_at"]) == ("high", ["health"], "2030-12-02T09:00:00Z")
    assert task["recurrence"] == "FREQ=MONTHLY;INTERVAL=6"
    instructions = fake_provider.requests[0]["messages"][0]["content"]
    assert "time zone" in instructions
    assert "due_before" in instructions


# The offline model's understanding of the new phrases (no database).


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "add buy milk tomorrow high priority #errands",
            Call("add_task", {"title": "Buy milk", "due": "tomorrow", "priority": "high", "tags": ["errands"]}),
        ),
        (
            "add call mom on friday #family",
            Call("add_task", {"title": "Call mom", "due": "friday", "tags": ["family"]}),
        ),
        (
            "remind me to pay rent every month on the 1st",
            Call("add_task", {"title": "Pay rent", "recurrence": "every month on the 1st"}),
        ),
        ("add water plants every monday", Call("add_task", {"title": "Water plants", "recurrence": "every monday"})),
        ("add water plants weekly", Call("add_task", {"title": "Water plants", "recurrence": "weekly"})),
        (
            "add standup every weekday at 9:30",
            Call("add_task", {"title": "Standup", "due": "at 9:30", "recurrence": "every weekday"}),
        ),
        (
            "add buy milk, tomorrow, with low priority",
            Call("add_task", {"title": "Buy milk", "due": "tomorrow", "priority": "low"}),
        ),
        ("I have to submit the report by friday", Call("add_task", {"title": "Submit the report", "due": "friday"})),
        ("add fix issue #42", Call("add_task", {"title": "Fix issue #42"})),
        ("add enjoy the sun", Call("add_task", {"title": "Enjoy the sun"})),
        ("Change task 1 to 'Call mom tonight'", Call("update_task", {"task_id": 1, "title": "Call mom tonight"})),
        ("what is due this week", Call("list_tasks", {"due_before": "end of this week", "status": "pending"})),
        ("What's due today?", Call("list_tasks", {"due_before": "end of today", "status": "pending"})),
        (
            "anything due tomorrow?",
            Call(
                "list_tasks", {"due_after": "start of tomorrow", "due_before": "end of tomorrow", "status": "pending"}
            ),
        ),
        ("what's overdue", Call("list_tasks", {"overdue": True})),
        ("show tasks tagged errands", Call("list_tasks", {"tag": "errands"})),
        ("show my #errands tasks", Call("list_tasks", {"tag": "errands"})),
        ("show tasks tagged work or home", Call("list_tasks", {"tag": "work,home"})),
        ("show high priority tasks", Call("list_tasks", {"priority": "high"})),
        ("show pending high-priority tasks", Call("list_tasks", {"priority": "high", "status": "pending"})),
        ("find tasks about milk", Call("list_tasks", {"search": "milk"})),
        ("set task 3 priority to high", Call("update_task", {"task_id": 3, "priority": "high"})),
        ("move task 3 to next friday", Call("update_task", {"task_id": 3, "due": "next friday"})),
        ("task 3 is due tomorrow 5pm", Call("update_task", {"task_id": 3, "due": "tomorrow 5pm"})),
    ],
)
def test_offline_understands(message, expected):
    assert next_step([{"role": "user", "content": message}]) == expected


def _after(message, call, result):
    return next_step(
        [
            {"role": "user", "content": message},
            {"type": "function_call", "call_id": "c1", "name": call.name, "arguments": json.dumps(call.arguments)},
            {"type": "function_call_output", "call_id": "c1", "output": json.dumps(result)},
        ]
    )


def test_offline_reply_names_the_due_date_priority_and_tags():
    tomorrow = datetime.now(ZoneInfo(BERLIN)).date() + timedelta(days=1)
    due = at(tomorrow, time(23, 59), BERLIN).isoformat()
    result = {"task_id": 7, "status": "created", "title": "Buy milk", "priority": "high", "tags": ["errands"],
              "due_at": due}  # fmt: skip

    text = _after("add buy milk tomorrow high priority #errands", Call("add_task", {"title": "Buy milk"}), result)

    this_year = today_in(BERLIN).year
    label = f"{tomorrow:%a} {tomorrow.day} {tomorrow:%b}" + (f" {tomorrow.year}" if tomorrow.year != this_year else "")
    assert text == f"Added “Buy milk” (task 7), due tomorrow ({label}), high priority, #errands."
