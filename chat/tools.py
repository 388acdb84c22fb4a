"""The assistant's function tools: thin adapters over tasks.operations (the MCP tools' operations too).

The user is never a tool argument: it comes from the run context, which the view fills from the
verified token. A tool returns a small JSON object (a string, which the model reads as is), and
records the call on the context so the view can store it and show it in `tool_calls`.

Dates are read in the user's time zone (the context's, from the X-Timezone header): natural
language through dateparser, plus the period edges it lacks ("end of this week"). A day without a
time is due at DEFAULT_DUE_TIME that day; as a filter bound it counts whole.
"""

import calendar
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from asgiref.sync import sync_to_async
from dateparser.date import DateDataParser
from django.core.exceptions import ValidationError

from tasks import operations
from tasks.operations import Priority, Result

DEFAULT_DUE_TIME = time(23, 59)  # "due tomorrow" means by the end of tomorrow, not overdue at breakfast
MAX_PHRASE = 100
UTC = ZoneInfo("UTC")


@dataclass
class ChatContext:
    """What a run knows about its caller, and the tool calls it made."""

    user_id: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    zone: ZoneInfo = UTC

    def now(self) -> datetime:
        return datetime.now(self.zone)


def _task_tool(func: Callable[..., Result]) -> FunctionTool:
    """Run a sync tool in the request's thread (its database connection), answer JSON, record the call.

    Failures are results the model can relay (tasks.operations.answer): a task that is not the user's
    is "not_found", exactly as for the REST API."""

    @functools.wraps(func)
    async def tool(ctx: RunContextWrapper[ChatContext], *args: Any, **kwargs: Any) -> str:
        result = await sync_to_async(operations.answer)(functools.partial(func, ctx, *args, **kwargs))
        if isinstance(ctx, ToolContext):
            ctx.context.tool_calls.append(
                {
                    "call_id": ctx.tool_call_id,
                    "name": ctx.tool_name,
                    "arguments": json.loads(ctx.tool_arguments or "{}"),
                    "result": result,
                }
            )
        return json.dumps(result, ensure_ascii=False)

    return function_tool(tool)


# Dates ------------------------------------------------------------------------------------------

_EDGE = re.compile(r"(?P<edge>start|beginning|end)\s+of\s+(?:the\s+)?(?P<rest>.+)")
_PERIOD = re.compile(r"(?:(?P<which>this|next|last)\s+)?(?P<unit>week|month|year)")
_SHIFT = {None: 0, "this": 0, "next": 1, "last": -1}


def parse_when(text: str, now: datetime) -> datetime | tuple[date, date]:
    """An exact moment, or the first and last local day a phrase names ("tomorrow", "next week").

    Raises ValueError when the phrase is not understood."""
    phrase = " ".join(text.lower().split()).removeprefix("due ")
    if not phrase or len(phrase) > MAX_PHRASE:
        raise ValueError(text)
    edge = _EDGE.fullmatch(phrase)
    if not edge:
        return _moment_or_days(phrase, now)
    first, last = _days(edge["rest"], now)
    if edge["edge"] == "end":
        return last, last
    return _at(first, time(0), now.tzinfo)


def _days(phrase: str, now: datetime) -> tuple[date, date]:
    found = _moment_or_days(phrase, now)
    return (found.date(), found.date()) if isinstance(found, datetime) else found


def _moment_or_days(phrase: str, now: datetime) -> datetime | tuple[date, date]:
    today = now.date()
    if phrase in {"day", "today"}:
        return today, today
    period = _PERIOD.fullmatch(phrase)
    if period:
        return _period(period["unit"], _SHIFT[period["which"]], today)
    # dateparser misreads some zone names (Etc/GMT+5 as UTC+5), so it works on wall time and zoneinfo localizes.
    parser = DateDataParser(
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    try:
        data = parser.get_date_data(phrase)
    except (ValueError, OverflowError):
        data = None
    if data is None or data.date_obj is None:
        raise ValueError(phrase)
    found = data.date_obj
    if data.period not in {"time", "part_of_day"}:
        return found.date(), found.date()
    if found.tzinfo is None:
        return _at(found.date(), found.time(), now.tzinfo)
    return found.astimezone(now.tzinfo)


def _period(unit: str, shift: int, today: date) -> tuple[date, date]:
    if unit == "week":  # weeks start on Monday
        first = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
        return first, first + timedelta(days=6)
    if unit == "month":
        year, month = divmod(today.year * 12 + today.month - 1 + shift, 12)
        return date(year, month + 1, 1), date(year, month + 1, calendar.monthrange(year, month + 1)[1])
    return date(today.year + shift, 1, 1), date(today.year + shift, 12, 31)


def _at(day: date, wall: time, zone: Any) -> datetime:
    """A local wall time as an aware datetime (a time in a DST gap moves forward by the gap)."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def _date_error(name: str, text: str) -> ValidationError:
    return ValidationError(
        {name: [f"Could not understand the date {text!r}; say e.g. “tomorrow 5pm”, “friday”, “end of next week” "
                "or give an ISO date like 2026-12-01T09:00:00+01:00."]}
    )  # fmt: skip


def _due_at(name: str, text: str, now: datetime) -> datetime:
    try:
        found = parse_when(text, now)
        return found if isinstance(found, datetime) else _at(found[1], DEFAULT_DUE_TIME, now.tzinfo)
    except (ValueError, OverflowError):
        raise _date_error(name, text) from None


def _bound(name: str, text: str, now: datetime) -> datetime:
    """A filter bound: a day counts whole, so due_before a day ends after it, due_after starts with it."""
    try:
        found = parse_when(text, now)
        if isinstance(found, tuple):
            day = found[1] + timedelta(days=1) if name == "due_before" else found[0]
            found = _at(day, time(0), now.tzinfo)
    except (ValueError, OverflowError):
        raise _date_error(name, text) from None
    return found


def _tag_names(tags: list[str]) -> list[str]:
    return [name.lstrip("#") if isinstance(name, str) else name for name in tags]  # "#errands" is meant as "errands"


def _clears(text: str) -> bool:
    return text.strip().lower() in {"", "none", "no", "never", "null", "remove", "clear"}


# Recurrence -------------------------------------------------------------------------------------

_DAY_CODES = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)days?|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"
_DAY_LIST = rf"{_WEEKDAY}(?:\s*(?:,|and|&)\s*{_WEEKDAY})*"
_FREQS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_ADVERBS = {"daily": ("DAILY", 1), "weekly": ("WEEKLY", 1), "fortnightly": ("WEEKLY", 2), "monthly": ("MONTHLY", 1),
            "yearly": ("YEARLY", 1), "annually": ("YEARLY", 1)}  # fmt: skip
_EVERY_UNIT = re.compile(
    r"(?:every|each)\s+(?:(?P<n>\d+|other)\s+)?(?P<unit>day|week|month|year)s?(?:\s+on\s+(?:the\s+)?(?P<on>.+))?"
)
_ADVERB = re.compile(rf"(?P<adverb>{'|'.join(_ADVERBS)})(?:\s+on\s+(?:the\s+)?(?P<on>.+))?")
_EVERY_DAYS = re.compile(rf"(?:every|each|on)\s+(?P<days>weekdays?|weekends?|{_DAY_LIST})")
_MONTH_DAY = re.compile(r"(?:on\s+)?(?:the\s+)?(?P<on>\S+(?:\s+day)?)\s+of\s+(?:every|each|the)\s+month")
_ORDINAL = re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s+day)?|(?P<last>last(?:\s+day)?)")


def parse_recurrence(text: str) -> str | None:
    """An RRULE for simple English ("every monday", "every 2 weeks", "monthly on the 1st"), or the RRULE given.

    None for "none"/"never" (no repetition). Raises ValidationError when the English is not understood."""
    if _clears(text):
        return None
    if "=" in text:
        return text  # an RRULE: the service validates it
    phrase = " ".join(text.lower().replace("-", " ").split()).removeprefix("repeat ").removeprefix("repeats ")
    rule = _english_rule(phrase)
    if rule is None:
        raise ValidationError(
            {"recurrence": [f"Could not understand {text!r}; say e.g. “daily”, “every monday”, “every 2 weeks”, "
                            "“monthly on the 1st”, or give an RRULE like FREQ=WEEKLY;BYDAY=MO."]}
        )  # fmt: skip
    return rule


def _english_rule(phrase: str) -> str | None:
    if match := _EVERY_UNIT.fullmatch(phrase):
        interval = 2 if match["n"] == "other" else int(match["n"] or 1)
        return _with_on(_FREQS[match["unit"]], interval, match["on"])
    if match := _EVERY_DAYS.fullmatch(phrase):
        return f"FREQ=WEEKLY;BYDAY={_byday(match['days'])}"
    if match := _MONTH_DAY.fullmatch(phrase):
        return _with_on("MONTHLY", 1, match["on"])
    if match := _ADVERB.fullmatch(phrase):
        return _with_on(*_ADVERBS[match["adverb"]], match["on"])
    return None


def _with_on(freq: str, interval: int, on: str | None) -> str | None:
    rule = f"FREQ={freq}" + (f";INTERVAL={interval}" if interval != 1 else "")
    if on is None:
        return rule
    if re.fullmatch(rf"weekdays?|weekends?|{_DAY_LIST}", on):
        return f"{rule};BYDAY={_byday(on)}"
    if day := _ORDINAL.fullmatch(on):
        return f"{rule};BYMONTHDAY={-1 if day['last'] else day['day']}"
    return None


def _byday(days: str) -> str:
    if days.startswith("weekday"):
        return "MO,TU,WE,TH,FR"
    if days.startswith("weekend"):
        return "SA,SU"
    return ",".join(dict.fromkeys(_DAY_CODES[name[:3]] for name in re.findall(_WEEKDAY, days)))


def _today_due(now: datetime) -> datetime:
    return _at(now.date(), DEFAULT_DUE_TIME, now.tzinfo)


# Tools ------------------------------------------------------------------------------------------


@_task_tool
def add_task(
    ctx: RunContextWrapper[ChatContext],
    title: str,
    description: str | None = None,
    priority: Priority | None = None,
    tags: list[str] | None = None,
    due: str | None = None,
    recurrence: str | None = None,
) -> dict[str, Any]:
    """Add a new task to the user's list.

    Dates are read in the user's time zone. A day without a time ("tomorrow", "friday", "2026-12-01") is due
    at 23:59 that day.

    Args:
        title: A short title, 1 to 200 characters, e.g. "Buy groceries" (without the date, priority or tags).
        description: Optional details, up to 1000 characters.
        priority: "none" (the default), "low", "medium" or "high".
        tags: Tag names without "#", e.g. ["errands", "home"].
        due: When it is due, in English or ISO 8601: "tomorrow 5pm", "friday", "next week", "end of the month",
            "2026-12-01", "2026-12-01T09:00:00+01:00".
        recurrence: How it repeats: "daily", "every weekday", "every monday", "every 2 weeks", "monthly",
            "every month on the 1st", "yearly", or an RRULE like "FREQ=WEEKLY;BYDAY=MO,WE". The task is first
            due on the rule's first day from `due` on (from today without `due`).
    """
    context, now = ctx.context, ctx.context.now()
    rule = parse_recurrence(recurrence) if recurrence is not None else None
    due_at = _due_at("due", due, now) if due and not _clears(due) else None
    return operations.task_add(
        user_id=context.user_id, title=title, description=description, priority=priority,
        tags=_tag_names(tags or []), due_at=due_at or (_today_due(now) if rule else None), recurrence=rule,
        zone=context.zone,
    )  # fmt: skip


@_task_tool
def list_tasks(
    ctx: RunContextWrapper[ChatContext],
    status: Literal["all", "pending", "completed"] = "all",
    priority: str | None = None,
    tag: str | None = None,
    due_before: str | None = None,
    due_after: str | None = None,
    overdue: bool | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """List the user's tasks (at most 100): newest first, or soonest due first when filtering by due date.

    Filters combine (all must hold). Dates are read in the user's time zone; due_at is shown in it.

    Args:
        status: "all" (default), "pending" (not completed yet) or "completed".
        priority: "none", "low", "medium" or "high"; several separated by commas, e.g. "high,medium".
        tag: A tag name without "#"; several separated by commas match tasks with any of them.
        due_before: Due before this moment, in English or ISO 8601. A day without a time counts whole:
            "friday" includes Friday, "end of this week" includes Sunday, "start of next week" is Monday 00:00.
        due_after: Due at or after this moment; a day without a time counts whole ("tomorrow" includes it).
        overdue: true for pending tasks past their due time, false for the others.
        search: Words to find in the title or description.
    """
    context, now = ctx.context, ctx.context.now()
    return operations.task_find(
        user_id=context.user_id, status=status, priorities=operations.names(priority),
        tags=_tag_names(operations.names(tag)),
        due_before=_bound("due_before", due_before, now) if due_before else None,
        due_after=_bound("due_after", due_after, now) if due_after else None, overdue=overdue, search=search,
        zone=context.zone,
    )  # fmt: skip


@_task_tool
def complete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Mark one of the user's tasks as completed. A repeating task moves to its next occurrence (next_due_at).

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    return operations.task_complete(user_id=ctx.context.user_id, task_id=task_id, zone=ctx.context.zone)


@_task_tool
def delete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Delete one of the user's tasks.

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    return operations.task_remove(user_id=ctx.context.user_id, task_id=task_id, zone=ctx.context.zone)


@_task_tool
def update_task(
    ctx: RunContextWrapper[ChatContext],
    task_id: Annotated[int, "The task's id, as shown by list_tasks."],
    title: Annotated[str | None, "The new title, if it changes."] = None,
    description: Annotated[str | None, "The new description, if it changes."] = None,
    priority: Annotated[Priority | None, 'The new priority: "none", "low", "medium" or "high".'] = None,
    tags: Annotated[
        list[str] | None, "The complete new list of tag names (it replaces the old one; [] removes all tags)."
    ] = None,
    due: Annotated[
        str | None, 'The new due date, as for add_task ("tomorrow 5pm", "friday"), or "none" to remove it.'
    ] = None,
    recurrence: Annotated[
        str | None, 'The new repetition, as for add_task ("every monday", "FREQ=MONTHLY"), or "none" to stop it.'
    ] = None,
) -> dict[str, Any]:
    """Change some fields of one of the user's tasks; leave the others out (null)."""
    context, now = ctx.context, ctx.context.now()
    changes: dict[str, Any] = {"title": title, "description": description, "priority": priority}
    changes = {name: value for name, value in changes.items() if value is not None}
    if tags is not None:
        changes["tags"] = _tag_names(tags)
    if due is not None:
        changes["due_at"] = None if _clears(due) else _due_at("due", due, now)
    if recurrence is not None:
        changes["recurrence"] = parse_recurrence(recurrence)
    return operations.task_change(
        user_id=context.user_id, task_id=task_id, changes=changes, zone=context.zone, undated_start=_today_due(now)
    )


TOOLS = [add_task, list_tasks, complete_task, delete_task, update_task]
