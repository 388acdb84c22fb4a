"""Repeating tasks: a subset of RFC 5545 RRULE, expanded on wall-clock time in the user's time zone.

Supported parts (case-insensitive, optional leading ``RRULE:``, at most 200 characters, each part once):

- ``FREQ`` (required): DAILY, WEEKLY, MONTHLY or YEARLY.
- ``INTERVAL``: 1 to 1000.
- ``BYDAY``: MO, TU, WE, TH, FR, SA, SU; with MONTHLY or YEARLY also with an ordinal from -5 to 5 (not 0),
  e.g. 1MO (first Monday), -1FR (last Friday).
- ``BYMONTHDAY`` (MONTHLY, YEARLY): 1 to 31 or -31 to -1 (-1 is the last day of the month).
- ``BYMONTH`` (YEARLY): 1 to 12.
- ``COUNT`` (1 to 1000) or ``UNTIL`` (not both): occurrences left including the current one, or the last
  allowed moment as YYYYMMDD (through the end of that day in the task's time zone) or YYYYMMDDTHHMMSSZ (UTC).
- ``WKST``: accepted (MO..SU).

Anything else (BYHOUR, BYSETPOS, HOURLY, ...) is rejected with a RecurrenceError naming the part, and so is a rule
whose BYMONTH, BYMONTHDAY and BYDAY never match a date (BYMONTH=2;BYMONTHDAY=30, BYMONTHDAY=8;BYDAY=1MO). BYDAY's
weekdays with and without a number add up, as RFC 5545 says: MONTHLY;BYDAY=FR,1SU is every Friday and the first
Sunday (dateutil alone would want days that are both). The canonical form lists the parts
as FREQ, INTERVAL (omitted when 1), BYMONTH, BYMONTHDAY, BYDAY, COUNT, UNTIL, WKST (omitted when MO), e.g.
``FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE``; it is never longer than the text it came from.
"""

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from math import gcd
from zoneinfo import ZoneInfo

from dateutil import rrule as du

MAX_LENGTH = 200
_PARTS = ("FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "COUNT", "UNTIL", "WKST")
_FREQS = {"DAILY": du.DAILY, "WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY, "YEARLY": du.YEARLY}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")  # fmt: skip
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}

# A rule's BY parts can leave every later period empty (FREQ=DAILY;INTERVAL=7;BYDAY=TU from a Monday), and then
# dateutil scans each period up to year 9999, for seconds (it checks UNTIL only on a date it found). The calendar
# repeats after this many periods, which is this many days (400 years, a whole number of weeks), so a bounded check
# of one cycle near year 9999 comes first: at most 4800 months (some 40 ms) for a rule, whatever the start.
_CYCLES = {"DAILY": (7, 7), "WEEKLY": (1, 7), "MONTHLY": (4800, 146097), "YEARLY": (400, 146097)}
# Whether BY parts match any date at all: every kind of year (leap or not, from each weekday) comes in 28 years
# without a century between, so these 28 years up to dateutil's end in 9999 answer it (336 months, some 3 ms).
_EVERY_KIND_OF_YEAR = datetime.combine(date(9972, 1, 1), time())

_BYDAY_ITEM = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", re.ASCII)
_UNTIL_VALUE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d{1,4}", re.ASCII)


class RecurrenceError(ValueError):
    """A recurrence rule that is malformed or outside the supported subset; the message is shown to users."""


@dataclass(frozen=True)
class _Rule:
    """A parsed rule; ``byday`` holds (ordinal or 0, weekday index) pairs, ``until`` a date or an aware UTC time."""

    freq: str
    interval: int = 1
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[tuple[int, int], ...] = ()
    count: int | None = None
    until: date | datetime | None = None
    wkst: int = 0

    def __str__(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.bymonth:
            parts.append("BYMONTH=" + ",".join(map(str, self.bymonth)))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.bymonthday)))
        if self.byday:
            parts.append("BYDAY=" + ",".join(f"{n or ''}{_WEEKDAYS[wd]}" for n, wd in self.byday))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if isinstance(self.until, datetime):
            parts.append("UNTIL=" + self.until.replace(tzinfo=None).isoformat().replace("-", "").replace(":", "") + "Z")
        elif self.until is not None:
            parts.append("UNTIL=" + self.until.isoformat().replace("-", ""))
        if self.wkst:
            parts.append(f"WKST={_WEEKDAYS[self.wkst]}")
        return ";".join(parts)


def normalize_rule(text: str) -> str:
    """Validate a rule and return its canonical form (raise RecurrenceError with a clear message)."""
    return str(_parse(text))


def next_occurrence(rule: str, *, due_at: datetime, tz: ZoneInfo) -> tuple[datetime, str] | None:
    """The occurrence after due_at and the rule to store with it, or None when the series is over."""
    if due_at.utcoffset() is None:
        raise ValueError("due_at must be timezone-aware.")
    parsed = _parse(rule)
    if parsed.count == 1:
        return None
    try:
        occurrence = _next_wall_time(parsed, due_at.astimezone(tz).replace(tzinfo=None), tz)
    except (OverflowError, ValueError):
        return None  # the next occurrence would fall after year 9999
    if occurrence is None:
        return None
    if isinstance(parsed.until, datetime):
        if occurrence > parsed.until:
            return None
    elif parsed.until is not None and occurrence.date() > parsed.until:
        return None
    count = None if parsed.count is None else parsed.count - 1
    return occurrence, str(dataclasses.replace(parsed, count=count))


def first_occurrence(rule: str, *, start: datetime, tz: ZoneInfo) -> datetime:
    """The first day the rule names from `start`'s day on, at `start`'s wall time in tz: a series starts on
    one of its days ("every Monday" set on a Tuesday is first due the next Monday). A rule without BY parts
    names every period from `start`, so `start` is its first occurrence."""
    parsed = _parse(rule)
    if not (parsed.bymonth or parsed.bymonthday or parsed.byday):
        return start
    # Whatever the interval, count or end: the series then counts from this day.
    every = dataclasses.replace(parsed, interval=1, count=None, until=None)
    found = _next_wall_time(every, (start.astimezone(tz) - timedelta(days=1)).replace(tzinfo=None), tz)
    return start if found is None else found


def _next_wall_time(rule: _Rule, wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The first occurrence of the rule strictly after the naive wall time, as an aware time in tz."""
    start = wall.replace(microsecond=0)  # dateutil drops microseconds; they are put back on the result
    found = [day for part in _parts(rule) if _repeats(part, start) and (day := _series(part, start).after(start))]
    return _resolve_wall_time(min(found).replace(microsecond=wall.microsecond), tz) if found else None


def _parts(rule: _Rule) -> list[_Rule]:
    """The rule as dateutil can expand it: BYDAY's weekdays with a number and those without, each a rule of its own."""
    numbered = tuple(day for day in rule.byday if day[0])
    plain = tuple(day for day in rule.byday if not day[0])
    if numbered and plain:
        return [dataclasses.replace(rule, byday=plain), dataclasses.replace(rule, byday=numbered)]
    return [rule]


def _repeats(rule: _Rule, start: datetime) -> bool:
    """Whether the series has an occurrence after `start` before year 9999: one cycle checked, not centuries, and
    the answer shared by the starts the series steps through alike (a bulk completion of many tasks checks once)."""
    periods, days = _CYCLES[rule.freq]
    if (date.max - start.date()).days < days + 366 or not (rule.bymonth or rule.bymonthday or rule.byday):
        return True  # close to 9999 the search itself is short; without BY parts the start's day comes round again
    step = gcd(rule.interval, periods)  # stepping by it reaches the same kinds of period as the rule does
    return _found_after(dataclasses.replace(rule, interval=step, count=None, until=None), _probe(rule, start, step))


def _probe(rule: _Rule, start: datetime, step: int) -> datetime:
    """Where the check starts: near year 9999 with a cycle and a step left before dateutil stops, in a period the
    series reaches as it reaches start's. A month or a year starts on its first (BYMONTHDAY or BYDAY name the
    days; without them a yearly rule keeps the start's day); days and weeks keep start's calendar, whole cycles on."""
    periods, days = _CYCLES[rule.freq]
    if rule.freq == "MONTHLY":
        first = 9999 * 12 + 11 - periods - step - 12  # months since year 0
        index = first + (start.year * 12 + start.month - 1 - first) % step
        return datetime(index // 12, index % 12 + 1, 1)  # noqa: DTZ001 - dateutil works on naive wall time
    if rule.freq == "YEARLY":
        first = 9999 - periods - step - 1
        return datetime(first + (start.year - first) % step, 1, 1 if rule.bymonthday or rule.byday else start.day)  # noqa: DTZ001
    cycles = ((date.max - start.date()).days - days - 366) // days
    return datetime.combine((start + timedelta(days=days * cycles)).date(), time())


@lru_cache(maxsize=1024)
def _found_after(rule: _Rule, probe: datetime) -> bool:
    return _series(rule, probe).after(probe, inc=True) is not None


def _series(rule: _Rule, start: datetime) -> du.rrule:
    return du.rrule(
        _FREQS[rule.freq],
        dtstart=start,
        interval=rule.interval,
        wkst=rule.wkst,
        bymonth=rule.bymonth or None,
        bymonthday=rule.bymonthday or None,
        byweekday=[du.weekdays[wd](n) if n else du.weekdays[wd] for n, wd in rule.byday] or None,
    )


def _resolve_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """The aware time for a naive wall time: moved forward by the gap if it does not exist, the first if ambiguous."""
    # With fold=0, zoneinfo reads a time in a gap with the offset from before the gap, so the round trip through
    # UTC lands the length of the gap later (02:30 -> 03:30), and an ambiguous time keeps its first offset.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def describe(rule: str) -> str:
    """Short English for a rule, e.g. "every 2 weeks on Monday and Wednesday" or "every day, 3 more times"."""
    parsed = _parse(rule)
    unit = _UNITS[parsed.freq]
    text = f"every {unit}" if parsed.interval == 1 else f"every {parsed.interval} {unit}s"
    if parsed.bymonth:
        text += " in " + _join([_MONTH_NAMES[m] for m in parsed.bymonth])
    if parsed.bymonthday:
        text += " on " + _join([_monthday_phrase(d) for d in parsed.bymonthday])
        if parsed.byday:
            text += " if it falls on " + _join([_weekday_phrase(n, wd) for n, wd in parsed.byday], "or")
    elif parsed.byday == tuple((0, wd) for wd in range(5)):
        text = "every weekday" if text == "every day" else text + " on weekdays"
    elif parsed.byday:
        # In a month or year, a weekday without a number means each of them, and a number counts within the year
        # unless BYMONTH is given.
        each = "every " if parsed.freq in ("MONTHLY", "YEARLY") else ""
        text += " on " + _join([_weekday_phrase(n, wd) if n else each + _DAY_NAMES[wd] for n, wd in parsed.byday])
        if parsed.freq == "YEARLY" and not parsed.bymonth and any(n for n, _ in parsed.byday):
            text += " of the year"
    if parsed.count is not None:
        text += f", {parsed.count} more time{'s' if parsed.count != 1 else ''}"
    if isinstance(parsed.until, datetime):
        timespec = "seconds" if parsed.until.second else "minutes"
        text += f" until {parsed.until.replace(tzinfo=None).isoformat(' ', timespec)} UTC"
    elif parsed.until is not None:
        text += f" until {parsed.until.isoformat()}"
    return text


def _weekday_phrase(n: int, weekday: int) -> str:
    name = _DAY_NAMES[weekday]
    if not n:
        return name
    if n == -1:
        return f"the last {name}"
    return f"the {_ORDINALS[abs(n)]}{'-to-last' if n < 0 else ''} {name}"


def _monthday_phrase(day: int) -> str:
    if day == -1:
        return "the last day"
    suffix = "th" if 11 <= abs(day) <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(abs(day) % 10, "th")
    return f"the {abs(day)}{suffix}" + ("-to-last day" if day < 0 else "")


def _join(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _parse(text: str) -> _Rule:
    """Parse and validate a rule in the supported subset."""
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise RecurrenceError(f"The recurrence rule is too long; use at most {MAX_LENGTH} characters.")
    if text[:6].upper() == "RRULE:":
        text = text[6:]
    values: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue  # tolerate "FREQ=DAILY;" and surrounding blanks
        name, sep, value = (s.strip().upper() for s in part.partition("="))
        if not sep or not value or not re.fullmatch(r"[A-Z][A-Z-]*", name):
            raise RecurrenceError(f"Each part of a recurrence rule must look like NAME=VALUE, not {part.strip()!r}.")
        if name not in _PARTS:
            raise RecurrenceError(
                f"{name} is not supported; use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT or UNTIL."
            )
        if name in values:
            raise RecurrenceError(f"{name} is given twice; give each part of a recurrence rule once.")
        values[name] = value
    if not values:
        raise RecurrenceError("The recurrence rule is empty; give at least FREQ, e.g. FREQ=WEEKLY.")
    if "FREQ" not in values:
        raise RecurrenceError("FREQ is required, e.g. FREQ=WEEKLY.")
    freq = values["FREQ"]
    if freq not in _FREQS:
        raise RecurrenceError(f"FREQ={freq} is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY.")
    rule = _Rule(freq=freq)
    if "INTERVAL" in values:
        rule = dataclasses.replace(rule, interval=_parse_int("INTERVAL", values["INTERVAL"], 1, 1000))
    if "BYMONTH" in values:
        if freq != "YEARLY":
            raise RecurrenceError("BYMONTH is only supported with FREQ=YEARLY.")
        months = {_parse_int("BYMONTH", v, 1, 12) for v in values["BYMONTH"].split(",")}
        rule = dataclasses.replace(rule, bymonth=tuple(sorted(months)))
    if "BYMONTHDAY" in values:
        if freq not in ("MONTHLY", "YEARLY"):
            raise RecurrenceError("BYMONTHDAY is only supported with FREQ=MONTHLY or YEARLY.")
        days = {_parse_monthday(v) for v in values["BYMONTHDAY"].split(",")}
        rule = dataclasses.replace(rule, bymonthday=tuple(sorted(days, key=lambda d: (d < 0, d))))
    if "BYDAY" in values:
        byday = {_parse_byday(v, freq) for v in values["BYDAY"].split(",")}
        rule = dataclasses.replace(rule, byday=tuple(sorted(byday, key=lambda item: (item[1], item[0]))))
    if "COUNT" in values and "UNTIL" in values:
        raise RecurrenceError("Use COUNT or UNTIL, not both.")
    if "COUNT" in values:
        rule = dataclasses.replace(rule, count=_parse_int("COUNT", values["COUNT"], 1, 1000))
    if "UNTIL" in values:
        rule = dataclasses.replace(rule, until=_parse_until(values["UNTIL"]))
    if "WKST" in values:
        if values["WKST"] not in _WEEKDAYS:
            raise RecurrenceError("WKST must be one of MO, TU, WE, TH, FR, SA or SU.")
        rule = dataclasses.replace(rule, wkst=_WEEKDAYS.index(values["WKST"]))
    if not any(_matches_a_date(dataclasses.replace(part, interval=1, count=None, until=None)) for part in _parts(rule)):
        raise RecurrenceError("This rule never matches a date; check BYMONTH, BYMONTHDAY and BYDAY.")
    return rule


@lru_cache(maxsize=1024)
def _matches_a_date(rule: _Rule) -> bool:
    return _series(rule, _EVERY_KIND_OF_YEAR).after(_EVERY_KIND_OF_YEAR, inc=True) is not None


def _parse_int(name: str, value: str, low: int, high: int) -> int:
    if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise RecurrenceError(f"{name} must be a whole number from {low} to {high}.")
    return int(value)


def _parse_monthday(value: str) -> int:
    if not _INTEGER.fullmatch(value) or not 1 <= abs(int(value)) <= 31:
        raise RecurrenceError("BYMONTHDAY must be from 1 to 31, or from -31 to -1 to count from the month's end.")
    return int(value)


def _parse_byday(value: str, freq: str) -> tuple[int, int]:
    match = _BYDAY_ITEM.fullmatch(value)
    if not match:
        raise RecurrenceError("BYDAY must list weekdays MO, TU, WE, TH, FR, SA or SU, e.g. BYDAY=MO,WE.")
    n = int(match[1] or 0)
    if match[1] is not None:
        if freq not in ("MONTHLY", "YEARLY"):
            raise RecurrenceError("BYDAY with a number, like 1MO or -1FR, needs FREQ=MONTHLY or YEARLY.")
        if not 1 <= abs(n) <= 5:
            raise RecurrenceError("The number before a BYDAY weekday must be from 1 to 5 or -5 to -1, e.g. -1FR.")
    return n, _WEEKDAYS.index(match[2])


def _parse_until(value: str) -> date | datetime:
    match = _UNTIL_VALUE.fullmatch(value)
    try:
        if match and match[4] is None:
            return date(*map(int, match.groups()[:3]))
        if match:
            year, month, day, hour, minute, second = map(int, match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        pass
    raise RecurrenceError("UNTIL must be a date as YYYYMMDD or a UTC time as YYYYMMDDTHHMMSSZ, e.g. 20271231.")
