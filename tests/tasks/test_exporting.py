"""The export/import format layer: round trips, the iCalendar output, and the errors users see."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar, Todo

from tasks.exporting import (
    CSV_COLUMNS,
    EXPORT_FORMATS,
    ImportFormatError,
    parse,
    parse_csv,
    parse_json,
    render,
    render_csv,
    render_ics,
    render_json,
)


def make_row(**fields) -> dict:
    row = {
        "id": 1, "user_id": "u1", "title": "Task", "description": None, "completed": False, "priority": "none",
        "tags": [], "due_at": None, "recurrence": None, "completed_at": None, "position": 0, "list_id": None,
        "parent_id": None, "list": None,
        "created_at": "2026-11-01T08:00:00.123456Z", "updated_at": "2026-11-02T08:00:00Z",
    }  # fmt: skip
    return row | fields


ROWS = [
    make_row(
        id=12,
        title='Pay "rent", now\r\nplease; ok\\',
        description='line 1\nline 2\r\nline 3, "quoted"\rend\ttab',
        completed=True,
        priority="high",
        tags=["bills", "home", "x-y"],
        due_at="2026-12-01T09:00:00Z",
        recurrence="FREQ=MONTHLY;BYMONTHDAY=1",
        completed_at="2026-11-20T10:00:00Z",
        position=3,
    ),
    make_row(id=13, title="Zürich — 東京 😀 " + "é😀" * 60, description="Ünïcödé 🎉" * 20, priority="medium"),
    make_row(
        id=14,
        title="  spaced  ",
        description="=SUM(A1:A2)",
        priority="low",
        tags=["solo"],
        recurrence="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
        position=42,
    ),
    make_row(id=15, title="true", description="None", tags=["a", "b", "c", "d"], due_at="2027-01-31T23:59:59Z"),
    make_row(id=16, title='"', description=",", recurrence="FREQ=DAILY;UNTIL=20261231T000000Z"),
    make_row(id=17, title="a step", description="x", parent_id=12, list_id=4, list='Work; "a", b\\ ✓'),
]
ROW_IDS = ["awkward", "unicode-long", "spaces-formula", "lookalike-values", "lone-quote", "subtask-in-a-list"]


def joined(chunks) -> str:
    return "".join(chunks)


def csv_expected(row: dict) -> dict:
    """What parse_csv gives back for a rendered row: CSV columns only."""
    return {column: row[column] for column in CSV_COLUMNS}


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_json_round_trip_keeps_every_field(row):
    assert parse_json(joined(render_json([row])).encode()) == [row]


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_csv_round_trip_keeps_every_field(row):
    assert parse_csv(joined(render_csv([row])).encode()) == [csv_expected(row)]


def test_round_trips_of_several_rows_keep_order():
    assert parse_json(joined(render_json(ROWS)).encode()) == ROWS
    assert parse_csv(joined(render_csv(ROWS)).encode()) == [csv_expected(row) for row in ROWS]


@pytest.mark.parametrize("count", [0, 1, 3], ids=["empty", "one", "three"])
def test_json_stream_is_valid_json(count):
    chunks = list(render_json(ROWS[:count]))
    assert chunks[0] == "["
    assert chunks[-1] == "]"
    assert len(chunks) == count + 2  # one chunk per task
    assert json.loads("".join(chunks)) == ROWS[:count]


def test_csv_layout():
    text = joined(render_csv([ROWS[0], ROWS[1]]))
    lines = text.split("\r\n")
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert text.endswith("\r\n")
    assert ',true,high,"bills,home,x-y",2026-12-01T09:00:00Z,' in text
    assert ",false,medium,,,,,0," in text  # None and [] are empty cells


def test_csv_empty_description_comes_back_as_none():
    assert parse_csv(joined(render_csv([make_row(description="")])).encode())[0]["description"] is None


@pytest.mark.parametrize(
    ("fmt", "check"),
    [("json", json.loads), ("csv", lambda text: parse_csv(text.encode())), ("ics", Calendar.from_ical)],
    ids=["json", "csv", "ics"],
)
def test_render_dispatches(fmt, check):
    assert fmt in EXPORT_FORMATS
    check(joined(render(ROWS, fmt)))


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError, match="xml"):
        render(ROWS, "xml")


# iCalendar


def ics_todo(row: dict) -> Todo:
    """The one VTODO that render_ics writes for a row, read back with icalendar."""
    (todo,) = Calendar.from_ical(joined(render_ics([row]))).walk("VTODO")
    return todo


def test_ics_calendar_header_and_lines():
    chunks = list(render_ics(ROWS, prodid="-//test//EN"))
    assert len(chunks) == len(ROWS) + 2  # header, one VTODO each, footer
    text = "".join(chunks)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
    assert text.endswith("END:VTODO\r\nEND:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long rows were folded
    calendar = Calendar.from_ical(text)
    assert str(calendar["VERSION"]) == "2.0"
    assert [str(todo["UID"]) for todo in calendar.walk("VTODO")] == [f"task-{row['id']}@todo-backend" for row in ROWS]


def test_ics_empty_calendar():
    assert joined(render_ics([])) == "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//todo-backend//EN\r\nEND:VCALENDAR\r\n"


def test_ics_is_deterministic():
    assert joined(render_ics(ROWS)) == joined(render_ics(ROWS))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_ics_todo_fields(row):
    todo = ics_todo(row)
    newlines = {ord("\r"): "\n"}
    assert str(todo["SUMMARY"]) == row["title"].replace("\r\n", "\n").translate(newlines)
    assert str(todo["DESCRIPTION"]) == (row["description"] or "").replace("\r\n", "\n").translate(newlines)
    assert todo["STATUS"] == ("COMPLETED" if row["completed"] else "NEEDS-ACTION")
    assert todo.get("PRIORITY") == {"high": 1, "medium": 5, "low": 9}.get(row["priority"])
    assert (todo["DUE"].dt if "DUE" in todo else None) == (utc(row["due_at"]) if row["due_at"] else None)
    completed_at = todo["COMPLETED"].dt if "COMPLETED" in todo else None
    assert completed_at == (utc(row["completed_at"]) if row["completed_at"] else None)
    assert (todo["RRULE"].to_ical().decode() if "RRULE" in todo else None) == row["recurrence"]
    assert (todo["CATEGORIES"].cats if "CATEGORIES" in todo else []) == row["tags"]
    assert (str(todo["X-TODO-LIST"]) if "X-TODO-LIST" in todo else None) == row["list"]
    related = todo.get("RELATED-TO")
    parent = (str(related), related.params["RELTYPE"]) if related is not None else None
    assert parent == ((f"task-{row['parent_id']}@todo-backend", "PARENT") if row["parent_id"] else None)
    assert todo["CREATED"].dt == utc(row["created_at"]).replace(microsecond=0)
    assert todo["LAST-MODIFIED"].dt == todo["DTSTAMP"].dt == utc(row["updated_at"])


def test_ics_reordered_rule_keeps_its_parts():
    todo = ics_todo(make_row(recurrence="FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"))
    assert set(todo["RRULE"].to_ical().decode().split(";")) == {"FREQ=WEEKLY", "BYDAY=MO,WE", "INTERVAL=2"}


def test_ics_drops_control_characters_and_empty_description():
    todo = ics_todo(make_row(title="a\x0bb\x7fc", description=""))
    assert str(todo["SUMMARY"]) == "abc"
    assert "DESCRIPTION" not in todo


# Parsing


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b'[{"title": "a"}]'),
        ("application/json; charset=utf-8", b'[{"title": "a"}]'),
        ("text/csv", b"title\r\na\r\n"),
        ("Text/CSV; charset=UTF-8", b"title\na\n"),
    ],
    ids=["json", "json-charset", "csv", "csv-case-charset"],
)
def test_parse_dispatches_on_media_type(content_type, data):
    assert parse(data, content_type) == [{"title": "a"}]


def test_parse_csv_types_and_omissions():
    data = (
        "\ufefftitle, Completed ,position,tags,description,due_at,id,priority,created_at\r\n"
        'a,TRUE,7," x , y ",,,,,\r\n'
        "b,0,-1,,,2026-01-01T00:00:00Z,5,low,2026-01-01T00:00:00Z\r\n"
        "\r\n"
        "c,,,,,,,,\r\n"
    )
    assert parse_csv(data.encode()) == [
        {"title": "a", "completed": True, "position": 7, "tags": ["x", "y"], "description": None, "due_at": None},
        {
            "title": "b", "completed": False, "position": -1, "tags": [], "description": None,
            "due_at": "2026-01-01T00:00:00Z", "id": 5, "priority": "low", "created_at": "2026-01-01T00:00:00Z",
        },
        {"title": "c", "tags": [], "description": None, "due_at": None},
    ]  # fmt: skip


def test_parse_csv_reads_the_list_by_name_and_the_parent_by_the_files_id():
    data = "id,title,parent_id,list\r\n1,top,,'=Work\r\n2,sub,1,\r\n"

    assert parse_csv(data.encode()) == [
        {"id": 1, "title": "top", "parent_id": None, "list": "=Work"},
        {"id": 2, "title": "sub", "parent_id": 1, "list": None},
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "title column"),
        (b"description\r\nx\r\n", "title column"),
        (b"title,user_id,colour\r\na,b,c\r\n", "'user_id', 'colour'"),
        (b"title,title\r\na,b\r\n", "Duplicate CSV columns: title"),
        (b"title,completed\r\na,true\r\nb,yes\r\n", "Row 2 (line 3): completed must be true or false, not 'yes'"),
        (b"title,position\r\na,1.5\r\n", "Row 1 (line 2): position must be a whole number"),
        (b"title,position\r\na,\xd9\xa3\r\n", "Row 1 (line 2): position"),
        (b"title,position\r\na,1,2\r\n", "Row 1 (line 2): expected 2 fields, found 3"),
        (b"title,id\r\na,x1\r\n", "Row 1 (line 2): id must be a whole number, not 'x1'"),
        (b"title,parent_id\r\na,one\r\n", "Row 1 (line 2): parent_id must be a whole number, not 'one'"),
        (b'title\r\na\r\n"b"c\r\n', "Row 2"),
        (b"title\r\n\xff\xfe\r\n", "not valid UTF-8"),
    ],
    ids=[
        "empty-file", "no-title", "unknown-columns", "duplicate-column", "bad-boolean", "bad-position",
        "non-ascii-digit", "extra-field", "bad-id", "bad-parent-id", "malformed-quotes", "not-utf8",
    ],
)  # fmt: skip
def test_parse_csv_errors(data, message):
    with pytest.raises(ImportFormatError, match=re.escape(message)):
        parse_csv(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"title": "a"}', "JSON array"),
        (b"null", "JSON array"),
        (b'[{"title": "a"}, 3]', "Item 2: expected a JSON object, got int"),
        (b'[{"title": "a"}, {"title": "b"}, ["c"]]', "Item 3: expected a JSON object, got list"),
        (b'[{"title": "a"', "Invalid JSON"),
        (b"", "Invalid JSON"),
        (b'[{"position": NaN}]', "NaN is not allowed"),
        (b"[" * 100_000 + b"]" * 100_000, "Invalid JSON"),
        (b'[{"position": ' + b"9" * 5000 + b"}]", "Invalid JSON: Exceeds the limit"),
        (b'[{"title": "\xe9"}]', "not valid UTF-8"),
    ],
    ids=[
        "object", "null", "non-object-item", "list-item", "truncated", "empty", "nan", "too-deep", "huge-integer",
        "not-utf8",
    ],
)  # fmt: skip
def test_parse_json_errors(data, message):
    with pytest.raises(ImportFormatError, match=message):
        parse_json(data)


def test_parse_json_accepts_bom_and_returns_objects_unchanged():
    assert parse_json(b'\xef\xbb\xbf[{"title": "a", "extra": {"x": 1}}]') == [{"title": "a", "extra": {"x": 1}}]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "", "text/calendar"], ids=["plain", "xml", "none", "calendar"]
)
def test_parse_rejects_other_content_types(content_type):
    with pytest.raises(ImportFormatError, match="Unsupported content type"):
        parse(b"[]", content_type)


# Property: any text a user can store survives both formats.

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300)


@given(title=texts, description=st.none() | texts)
def test_arbitrary_text_survives_round_trips(title, description):
    row = make_row(title=title, description=description)
    assert parse_json(joined(render_json([row])).encode()) == [row]
    csv_row = parse_csv(joined(render_csv([row])).encode())[0]
    # CSV has one empty cell for both None and "": the empty description comes back as None.
    assert (csv_row["title"], csv_row["description"]) == (title, description or None)


# Spreadsheet-safe CSV: a cell that a spreadsheet would run gets a leading ', which import takes off again.

FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "'=quoted", "''", "'plain"]


@pytest.mark.parametrize("text", FORMULAS, ids=repr)
def test_a_cell_a_spreadsheet_would_run_is_guarded_and_comes_back(text):
    row = make_row(title=text, description=text, tags=[text.strip("'\t\r") or "x"], position=-3, list=text)

    safe = joined(render_csv([row]))
    raw = joined(render_csv([row], raw=True))

    guarded, verbatim = (dict(zip(CSV_COLUMNS, list(csv.reader(io.StringIO(t, newline="")))[1], strict=True))
                         for t in (safe, raw))  # fmt: skip
    assert guarded["title"] == guarded["description"] == guarded["list"] == "'" + text
    assert guarded["position"] == "-3"  # a number is no formula
    assert verbatim["title"] == verbatim["description"] == verbatim["list"] == text
    assert parse_csv(safe.encode()) == [csv_expected(row)]
    assert parse_csv(raw.encode(), raw=True) == [csv_expected(row)]


@pytest.mark.parametrize("text", ["it's", "a=b", "x@y", " =spaced", "1-2"], ids=repr)
def test_text_a_spreadsheet_would_not_run_is_left_alone(text):
    rendered = joined(render_csv([make_row(title=text)]))

    assert list(csv.reader(io.StringIO(rendered, newline="")))[1][1] == text
    assert parse_csv(rendered.encode())[0]["title"] == text


@given(title=texts)
def test_any_title_survives_the_raw_csv_too(title):
    assert parse_csv(joined(render_csv([make_row(title=title)], raw=True)).encode(), raw=True)[0]["title"] == title
