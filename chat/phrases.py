"""The English the assistant reads for dates and repetition, defined once for the tools and the offline model.

The tools parse a phrase they are given (`parse_when`, `parse_due`, `parse_bound`, `parse_recurrence`); the
offline model finds one at the end of a message (`WHEN_SAID`, `RECURRENCE_SAID`, `DAY_SAID`) and passes it on
as said. Both are built from the blocks below, and one direction is guaranteed: a phrase the offline model finds
is one the tools parse. For repetition by construction (the finding grammar is the parsing grammar without the
short weekday names and the bare "on mondays", which in a message is a due date); for dates, the periods
("this week", "end of the month") by construction and the rest through dateparser, as tests/chat/test_phrases.py
checks. A day a month lacks ("feb 30") is found and then refused as a date. Not the other way round: the tools
also read RRULEs, "every tue", "on mondays" and whatever else dateparser reads.

Dates are read in the user's time zone: natural language through dateparser, plus the periods and their edges
it lacks ("end of this week"). A day without a time is due at DEFAULT_DUE_TIME that day; as a filter bound it
counts whole.
"""

import calendar
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser
from django.core.exceptions import ValidationError

DEFAULT_DUE_TIME = time(23, 59)  # "due tomorrow" means by the end of tomorrow, not overdue at breakfast
MAX_PHRASE = 100

# Words ------------------------------------------------------------------------------------------

WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
# The tools also read short names; in a message, "sun" or "wed" is more likely a word than a day.
_ANY_WEEKDAY = rf"(?:{WEEKDAY}s?|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)"
_DAY_CODES = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY_NUMBER = r"(?:3[01]|[12]\d|0?[1-9])"  # a day of the month
ORDINAL = rf"{_DAY_NUMBER}(?:st|nd|rd|th)?"
CLOCK = r"(?:(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*(?:am|pm)|(?:[01]?\d|2[0-3]):[0-5]\d|(?<=at\s)(?:noon|midnight))"
_UNITS = "day|week|month|year"
_UNIT = rf"(?:{_UNITS})"
_SHIFTS = {"this": 0, "next": 1, "last": -1}

# Dates ------------------------------------------------------------------------------------------

_PERIOD = re.compile(rf"(?:(?P<which>{'|'.join(_SHIFTS)})\s+)?(?P<unit>{_UNITS})")
_EDGE = re.compile(
    rf"(?:the\s+)?(?P<edge>start|beginning|end)\s+of\s+(?:the\s+)?(?P<rest>.+?)(?:\s+(?:at\s+)?(?P<clock>{CLOCK}))?"
)

PERIOD_SAID = r"(?:this|next)\s+(?:week|month|year)"
_PERIOD_END_SAID = rf"(?:the\s+)?end\s+of\s+(?:(?:the|this|next)\s+)?{_UNIT}"
_ISO_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_ISO_MOMENT = rf"{_ISO_DATE}t(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:z|[+-]\d{{2}}:?\d{{2}})?"
# The days a time of day can follow or lead ("friday at 5pm", "5pm friday"); an end of a period takes one after.
DAY_SAID = (
    r"(?:today|tonight|tomorrow(?:\s+(?:morning|afternoon|evening|night))?|the\s+day\s+after\s+tomorrow"
    rf"|{PERIOD_SAID}|(?:(?:this|next)\s+)?{WEEKDAY}|in\s+(?:\d{{1,4}}|a|an|one|two|three)\s+(?:hour|day|week|month)s?"
    rf"|{MONTH}\s+{ORDINAL}(?:,?\s+\d{{4}})?|(?:the\s+)?{ORDINAL}\s+(?:of\s+)?{MONTH}(?:\s+\d{{4}})?|{_ISO_DATE})"
)
WHEN_SAID = (
    rf"(?:(?:{DAY_SAID}|{_PERIOD_END_SAID})(?:\s+(?:at\s+)?{CLOCK})?|(?:at\s+)?{CLOCK}(?:\s+{DAY_SAID})?|{_ISO_MOMENT})"
)


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
    if edge["clock"]:  # "end of the week at 5pm": that time on the last day
        wall = _moment_or_days(edge["clock"], now)
        if isinstance(wall, datetime):
            return local_time(last if edge["edge"] == "end" else first, wall.time(), now.tzinfo)
        raise ValueError(text)
    if edge["edge"] == "end":
        return last, last
    return local_time(first, time(0), now.tzinfo)


def _days(phrase: str, now: datetime) -> tuple[date, date]:
    found = _moment_or_days(phrase, now)
    return (found.date(), found.date()) if isinstance(found, datetime) else found


def _moment_or_days(phrase: str, now: datetime) -> datetime | tuple[date, date]:
    today = now.date()
    if phrase == "today":
        return today, today
    period = _PERIOD.fullmatch(phrase)
    if period:
        return _period(period["unit"], _SHIFTS.get(period["which"], 0), today)
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
        return local_time(found.date(), found.time(), now.tzinfo)
    return found.astimezone(now.tzinfo)


def _period(unit: str, shift: int, today: date) -> tuple[date, date]:
    if unit == "day":
        return today + timedelta(days=shift), today + timedelta(days=shift)
    if unit == "week":  # weeks start on Monday
        first = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
        return first, first + timedelta(days=6)
    if unit == "month":
        year, month = divmod(today.year * 12 + today.month - 1 + shift, 12)
        return date(year, month + 1, 1), date(year, month + 1, calendar.monthrange(year, month + 1)[1])
    return date(today.year + shift, 1, 1), date(today.year + shift, 12, 31)


def local_time(day: date, wall: time, zone: Any) -> datetime:
    """A local wall time as an aware datetime (a time in a DST gap moves forward by the gap)."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def _date_error(name: str, text: str) -> ValidationError:
    return ValidationError(
        {name: [f"Could not understand the date {text!r}; say e.g. “tomorrow 5pm”, “friday”, “end of next week” "
                "or give an ISO date like 2026-12-01T09:00:00+01:00."]}
    )  # fmt: skip


def parse_due(name: str, text: str, now: datetime) -> datetime:
    """When a task is due: a day without a time is due at DEFAULT_DUE_TIME. Raises ValidationError on `name`."""
    try:
        found = parse_when(text, now)
        return found if isinstance(found, datetime) else local_time(found[1], DEFAULT_DUE_TIME, now.tzinfo)
    except (ValueError, OverflowError):
        raise _date_error(name, text) from None


def parse_bound(name: str, text: str, now: datetime) -> datetime:
    """A filter bound: a day counts whole, so due_before a day ends after it, due_after starts with it."""
    try:
        found = parse_when(text, now)
        if isinstance(found, tuple):
            day = found[1] + timedelta(days=1) if name == "due_before" else found[0]
            found = local_time(day, time(0), now.tzinfo)
    except (ValueError, OverflowError):
        raise _date_error(name, text) from None
    return found


def clears(text: str) -> bool:
    """Whether a due date or recurrence given as `text` means none ("none", "never", "")."""
    return text.strip().lower() in {"", "none", "no", "never", "null", "remove", "clear"}


# Recurrence -------------------------------------------------------------------------------------

_FREQS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_ADVERBS = {"daily": ("DAILY", 1), "weekly": ("WEEKLY", 1), "fortnightly": ("WEEKLY", 2), "monthly": ("MONTHLY", 1),
            "yearly": ("YEARLY", 1), "annually": ("YEARLY", 1)}  # fmt: skip
_MONTH_DAY = re.compile(rf"(?P<day>{_DAY_NUMBER})(?:st|nd|rd|th)?(?:\s+day)?|(?P<last>last(?:\s+day)?)")


def _recurrence(*, said: bool) -> str:
    """The repetition grammar; `said` narrows it to what reads as a repetition at the end of a message.

    In a message, "on monday" and "by the 1st of the month" are due dates, and "sun" is more likely a word."""
    weekday = rf"{WEEKDAY}s?" if said else _ANY_WEEKDAY
    every = r"every|each" if said else r"every|each|on"
    of_month = r"on\s+the\s+" if said else r"(?:on\s+)?(?:the\s+)?"
    days = rf"(?:weekdays?|weekends?|{weekday}(?:\s*(?:,|and|&)\s*{weekday}){{0,6}})"
    on = rf"(?:{days}|{ORDINAL}(?:\s+day)?|last(?:\s+day)?)"
    return (
        rf"(?:(?:every|each)\s+(?:(?P<n>\d+|other)\s+)?(?P<unit>{_UNITS})s?(?:\s+on\s+(?:the\s+)?(?P<unit_on>{on}))?"
        rf"|(?:{every})\s+(?P<days>{days})"
        rf"|{of_month}(?P<month_on>{on})\s+of\s+(?:every|each|the)\s+month"
        rf"|(?P<adverb>{'|'.join(_ADVERBS)})(?:\s+on\s+(?:the\s+)?(?P<adverb_on>{on}))?)"
    )


_RECURRENCE = re.compile(_recurrence(said=False))
RECURRENCE_SAID = _recurrence(said=True)


def parse_recurrence(text: str) -> str | None:
    """An RRULE for simple English ("every monday", "every 2 weeks", "monthly on the 1st"), or the RRULE given.

    None for "none"/"never" (no repetition). Raises ValidationError when the English is not understood."""
    if clears(text):
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
    match = _RECURRENCE.fullmatch(phrase)
    if match is None:
        return None
    if match["unit"]:
        interval = 2 if match["n"] == "other" else int(match["n"] or 1)
        return _with_on(_FREQS[match["unit"]], interval, match["unit_on"])
    if match["days"]:
        return f"FREQ=WEEKLY;BYDAY={_byday(match['days'])}"
    if match["month_on"]:
        return _with_on("MONTHLY", 1, match["month_on"])
    return _with_on(*_ADVERBS[match["adverb"]], match["adverb_on"])


def _with_on(freq: str, interval: int, on: str | None) -> str:
    rule = f"FREQ={freq}" + (f";INTERVAL={interval}" if interval != 1 else "")
    if on is None:
        return rule
    if day := _MONTH_DAY.fullmatch(on):
        return f"{rule};BYMONTHDAY={-1 if day['last'] else day['day']}"
    return f"{rule};BYDAY={_byday(on)}"


def _byday(days: str) -> str:
    if days.startswith("weekday"):
        return "MO,TU,WE,TH,FR"
    if days.startswith("weekend"):
        return "SA,SU"
    return ",".join(dict.fromkeys(_DAY_CODES[name[:3]] for name in re.findall(_ANY_WEEKDAY, days)))
