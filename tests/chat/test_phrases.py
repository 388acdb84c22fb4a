"""One vocabulary: what the offline model finds in a message, the tools parse (chat.phrases)."""

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from chat.offline import Call, next_step
from chat.phrases import parse_bound, parse_recurrence, parse_when

NOW = datetime(2030, 12, 4, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # a Wednesday


def added(message: str) -> dict:
    step = next_step([{"role": "user", "content": message}])
    assert isinstance(step, Call)
    assert step.name == "add_task"
    return step.arguments


@pytest.mark.parametrize(
    ("said", "rule"),
    [
        ("daily", "FREQ=DAILY"),
        ("every day", "FREQ=DAILY"),
        ("each week", "FREQ=WEEKLY"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3"),
        ("every other week", "FREQ=WEEKLY;INTERVAL=2"),
        ("fortnightly", "FREQ=WEEKLY;INTERVAL=2"),
        ("every 2 weeks on tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("weekly on mondays and thursdays", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("weekly on weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("every monday", "FREQ=WEEKLY;BYDAY=MO"),
        ("every Monday, Wednesday and Friday", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        ("every monday & friday", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("every weekend", "FREQ=WEEKLY;BYDAY=SA,SU"),
        ("monthly", "FREQ=MONTHLY"),
        ("every month on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1"),
        ("monthly on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("on the 31st of every month", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("on the last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("yearly", "FREQ=YEARLY"),
        ("annually", "FREQ=YEARLY"),
    ],
)
def test_every_repetition_the_offline_model_finds_parses_to_its_rule(said, rule):
    arguments = added(f"add water plants {said}")

    assert arguments == {"title": "Water plants", "recurrence": said}
    assert parse_recurrence(arguments["recurrence"]) == rule


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("today", (date(2030, 12, 4),) * 2),
        ("tomorrow", (date(2030, 12, 5),) * 2),
        ("the day after tomorrow", (date(2030, 12, 6),) * 2),
        ("friday", (date(2030, 12, 6),) * 2),
        ("next week", (date(2030, 12, 9), date(2030, 12, 15))),
        ("this month", (date(2030, 12, 1), date(2030, 12, 31))),
        ("end of the week", (date(2030, 12, 8),) * 2),
        ("the end of next week", (date(2030, 12, 15),) * 2),
        ("end of day", (date(2030, 12, 4),) * 2),
        ("end of next day", (date(2030, 12, 5),) * 2),
        ("end of next month", (date(2031, 1, 31),) * 2),
        ("in 2 days", (date(2030, 12, 6),) * 2),
        ("dec 24", (date(2030, 12, 24),) * 2),
        ("jan 5th, 2031", (date(2031, 1, 5),) * 2),
        ("the 2nd of february 2031", (date(2031, 2, 2),) * 2),
        ("2031-03-01", (date(2031, 3, 1),) * 2),
        ("tomorrow 5pm", datetime(2030, 12, 5, 17, tzinfo=NOW.tzinfo)),
        ("tomorrow at 9:30", datetime(2030, 12, 5, 9, 30, tzinfo=NOW.tzinfo)),
        ("5pm friday", datetime(2030, 12, 6, 17, tzinfo=NOW.tzinfo)),
        ("at noon", datetime(2030, 12, 4, 12, tzinfo=NOW.tzinfo)),
        ("at 11:45pm", datetime(2030, 12, 4, 23, 45, tzinfo=NOW.tzinfo)),
        ("next friday at 8am", datetime(2030, 12, 6, 8, tzinfo=NOW.tzinfo)),
        ("end of the week at 5pm", datetime(2030, 12, 8, 17, tzinfo=NOW.tzinfo)),
        ("2031-03-01t09:00:00+01:00", datetime(2031, 3, 1, 9, tzinfo=NOW.tzinfo)),
        ("in 2 hours", datetime(2030, 12, 4, 12, 30, tzinfo=NOW.tzinfo)),
    ],
)
def test_every_date_the_offline_model_finds_parses(said, expected):
    arguments = added(f"add call the bank {said}")

    assert arguments == {"title": "Call the bank", "due": said}
    assert parse_when(arguments["due"], NOW) == expected


@pytest.mark.parametrize(
    "message",
    [
        "what is due today",
        "what's due tomorrow",
        "anything due this week?",
        "show tasks due before next month",
        "what is due by friday",
        "what is due next year",
    ],
)
def test_every_due_filter_the_offline_model_sends_parses(message):
    step = next_step([{"role": "user", "content": message}])

    assert isinstance(step, Call)
    bounds = {name: step.arguments[name] for name in ("due_before", "due_after") if name in step.arguments}
    assert bounds
    for name, text in bounds.items():
        parse_bound(name, text, NOW)


@pytest.mark.parametrize(
    "message",
    [
        "add enjoy the sun",  # a word, not Sunday
        "add call jane 3",  # not a month
        "add buy decaf 2",
        "add set alarm 13pm",  # no such hour
        "add meet at 25:00",
        "add plan dec 45",  # no such day
        "add file 2030-13-02",  # no such month
        "add pay rent monthly on the 45th",
        "add call mom on mondays",  # a repetition only when the tools are told it is one
        "add pay rent by the 1st of the month",  # a due date, not a repetition
        "add gym every tue",  # short names only when the tools are told
    ],
)
def test_what_the_tools_could_not_parse_is_left_in_the_title(message):
    arguments = added(message)

    assert set(arguments) == {"title"}


def test_a_long_run_of_separators_takes_linear_time():
    start = time.perf_counter()
    next_step([{"role": "user", "content": "add x" + "," * 3995}])
    next_step([{"role": "user", "content": "add x every" + " ," * 2000}])

    assert time.perf_counter() - start < 1  # was 10 seconds and more, trying every comma as a start
