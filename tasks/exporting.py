"""Task export/import formats: render task rows (the API's JSON dicts) as streamed JSON, CSV or iCalendar
chunks, and parse uploaded JSON or CSV back into row dicts. Pure functions: no models, no database.

The CSV is safe to open in a spreadsheet by default: a text cell that a spreadsheet would read as a formula (it
starts with = + - @, a tab or a CR, as OWASP lists them) or that starts with the guard itself (') gets a leading '.
Parsing takes exactly that guard off again (a ' followed by one of those characters), so the safe CSV round-trips;
a spreadsheet shows the cell as text and drops the ' when it saves. `raw=True` renders and parses cells verbatim:
the lossless CSV for programs, which a spreadsheet may run as formulas.

A row names its list (`list`: the list's name, None for the Inbox) and its parent by the parent's row `id` in the
same file (`parent_id`); iCalendar says the same with X-TODO-LIST and RELATED-TO;RELTYPE=PARENT (the parent's UID).
"""

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

from icalendar import Calendar, Todo, vRecur, vText

from tasks.fields import CSV_NAMES, LIST_COLUMN, TASK_FIELDS

EXPORT_FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "ics": "text/calendar; charset=utf-8"}
CSV_COLUMNS = list(CSV_NAMES)
ICS_PRIORITIES = {"high": 1, "medium": 5, "low": 9}
ICS_LIST = "X-TODO-LIST"  # the task's list by name; CATEGORIES holds its tags
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GUARD = "'"
_GUARDED = (*FORMULA_STARTS, _GUARD)
# RFC 5545 TEXT may not hold control characters; icalendar escapes CR and LF but passes the others through.
_ICS_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFormatError(ValueError):
    """An uploaded file that cannot be read as tasks; the message is meant for API users."""


def started(rows: Iterable[dict]) -> Iterator[dict]:
    """The rows, the first one taken now: the query behind them runs (or fails) before a response starts."""
    rows = iter(rows)
    first = next(rows, None)
    return rows if first is None else itertools.chain([first], rows)


def render(rows: Iterable[dict], fmt: str, *, raw: bool = False) -> Iterator[str]:
    """Render rows in one of EXPORT_FORMATS (`raw`: the CSV's cells verbatim, not spreadsheet-safe)."""
    renderers: dict[str, Callable[[Iterable[dict]], Iterator[str]]] = {
        "json": render_json,
        "csv": lambda rows: render_csv(rows, raw=raw),
        "ics": render_ics,
    }
    if fmt not in renderers:
        raise ValueError(f"Unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}.")
    return renderers[fmt](rows)


def render_json(rows: Iterable[dict]) -> Iterator[str]:
    """A JSON array, one element per chunk."""
    yield "["
    separator = ""
    for row in rows:
        yield separator + json.dumps(row, ensure_ascii=False)
        separator = ",\n"
    yield "]"


class _Echo:
    """A file-like object whose write() hands the text back, so csv.writer can produce one line at a time."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any, raw: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # a number, even a negative one, is no formula
    text = ",".join(value) if isinstance(value, list) else str(value)
    return _GUARD + text if not raw and text.startswith(_GUARDED) else text


def render_csv(rows: Iterable[dict], *, raw: bool = False) -> Iterator[str]:
    """A header line, then one CSV record per row; spreadsheet-safe unless `raw` (see the module's docstring)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        yield writer.writerow([_csv_cell(row[column], raw) for column in CSV_COLUMNS])


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def ics_uid(task_id: int) -> str:
    """A task's UID in the iCalendar export (and its subtasks' RELATED-TO)."""
    return f"task-{task_id}@todo-backend"


def render_ics(rows: Iterable[dict], *, prodid: str = "-//todo-backend//EN") -> Iterator[str]:
    """A VCALENDAR with one VTODO per row, one VTODO per chunk."""
    header = Calendar()
    header.add("version", "2.0")
    header.add("prodid", prodid)  # through icalendar, so an unusual prodid is escaped and folded too
    head, footer, _ = header.to_ical().decode().rpartition("END:VCALENDAR\r\n")
    yield head
    for row in rows:
        todo = Todo()
        todo.add("uid", ics_uid(row["id"]))
        todo.add("summary", _ICS_CONTROL.sub("", row["title"]))
        if row["description"]:
            todo.add("description", _ICS_CONTROL.sub("", row["description"]))
        if row["due_at"]:
            todo.add("due", _utc(row["due_at"]))
        if row["priority"] in ICS_PRIORITIES:
            todo.add("priority", ICS_PRIORITIES[row["priority"]])
        todo.add("status", "COMPLETED" if row["completed"] else "NEEDS-ACTION")
        if row["completed"] and row["completed_at"]:  # a repeating task's last completion is not its status
            todo.add("completed", _utc(row["completed_at"]))
        if row["recurrence"]:
            todo.add("rrule", vRecur.from_ical(row["recurrence"]))
        if row["tags"]:
            todo.add("categories", row["tags"])
        if row[LIST_COLUMN]:
            # TEXT, escaped; VALUE=TEXT says so to parsers that keep an X- property's value as it is written.
            todo.add(ICS_LIST, vText(_ICS_CONTROL.sub("", row[LIST_COLUMN])), parameters={"VALUE": "TEXT"})
        if row["parent_id"] is not None:
            todo.add("related-to", ics_uid(row["parent_id"]), parameters={"RELTYPE": "PARENT"})
        todo.add("created", _utc(row["created_at"]))
        todo.add("last-modified", _utc(row["updated_at"]))
        todo.add("dtstamp", _utc(row["updated_at"]))  # not "now": the same tasks always export the same bytes
        yield todo.to_ical().decode()
    yield footer


def parse(data: bytes, content_type: str, *, raw: bool = False) -> list[dict]:
    """Parse an upload according to its media type (application/json or text/csv; always UTF-8; `raw`: a raw CSV)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return parse_json(data)
    if media_type == "text/csv":
        return parse_csv(data, raw=raw)
    raise ImportFormatError(f"Unsupported content type {media_type or '(none)'!r}; use application/json or text/csv.")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFormatError(f"The file is not valid UTF-8 (byte {error.start + 1}).") from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def parse_json(data: bytes) -> list[dict]:
    """A JSON array of objects, returned unchanged."""
    text = _decode(data)
    try:
        items = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:  # syntax errors (with line and column), NaN/Infinity, integers too long to convert
        raise ImportFormatError(f"Invalid JSON: {str(error).rstrip('.')}.") from None
    except RecursionError:
        raise ImportFormatError("Invalid JSON: nested too deeply.") from None
    if not isinstance(items, list):
        raise ImportFormatError("Expected a JSON array of task objects.")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ImportFormatError(f"Item {number}: expected a JSON object, got {type(item).__name__}.")
    return items


def _csv_bool(column: str, value: str) -> bool:
    normalized = value.strip().lower()
    if normalized in ("true", "1"):
        return True
    if normalized in ("false", "0"):
        return False
    raise ValueError(f"{column} must be true or false, not {value!r}")


def _csv_int(column: str, value: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        raise ValueError(f"{column} must be a whole number, not {value!r}")
    return int(value)


def _csv_tags(column: str, value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def _csv_text(column: str, value: str) -> str:
    return value


# Converters for non-empty cells of the editable fields, by kind (others are text). An empty cell is "" for
# title, [] for tags, None for nullable columns, and omitted otherwise, so that the caller's defaults apply.
# The row's `id` is a whole number too: another row's parent_id refers to it.
_BY_KIND: dict[str, Callable[[str, str], Any]] = {"bool": _csv_bool, "int": _csv_int, "tags": _csv_tags}
_CONVERTERS = {field.name: _BY_KIND.get(field.kind, _csv_text) for field in TASK_FIELDS if not field.read_only}
_CONVERTERS |= {"id": _csv_int, LIST_COLUMN: _csv_text}
_NULLABLE = {field.name for field in TASK_FIELDS if field.nullable} | {LIST_COLUMN}


def parse_csv(data: bytes, *, raw: bool = False) -> list[dict]:
    """A CSV file with a header row naming some of CSV_COLUMNS (title required), as row dicts with JSON types;
    unless `raw`, a cell's spreadsheet guard comes off (see the module's docstring)."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        raise ImportFormatError(f"Header row: malformed CSV ({error}).") from None
    if "title" not in header:
        raise ImportFormatError("The CSV header row must include a title column.")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFormatError(f"Unknown CSV columns: {', '.join(map(repr, unknown))}.")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ImportFormatError(f"Duplicate CSV columns: {', '.join(duplicates)}.")
    rows: list[dict] = []
    while True:
        # Rows are numbered from 1 after the header; the line number helps when a cell spans several lines.
        where = f"Row {len(rows) + 1}"
        try:
            cells = next(reader, None)
        except csv.Error as error:
            raise ImportFormatError(f"{where} (line {reader.line_num}): malformed CSV ({error}).") from None
        if cells is None:
            return rows
        if not cells:
            continue  # a blank line, which csv never writes for a record
        where += f" (line {reader.line_num})"
        if len(cells) != len(header):
            raise ImportFormatError(f"{where}: expected {len(header)} fields, found {len(cells)}.")
        if not raw:
            cells = [cell[1:] if cell.startswith(_GUARD) and cell[1:].startswith(_GUARDED) else cell for cell in cells]
        try:
            rows.append(_csv_row(dict(zip(header, cells, strict=True))))
        except ValueError as error:
            raise ImportFormatError(f"{where}: {error}.") from None


def _csv_row(cells: dict[str, str]) -> dict:
    row: dict[str, Any] = {}
    for column, value in cells.items():
        if column == "title":
            row[column] = value
        elif value == "":
            if column in _NULLABLE:
                row[column] = None
            elif column == "tags":
                row[column] = []
        else:
            row[column] = _CONVERTERS.get(column, _csv_text)(column, value)
    return row
