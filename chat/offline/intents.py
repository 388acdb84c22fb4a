"""What a user message asks for: an Intent, whose plan turns the tool results so far into the next step."""

import re
from collections.abc import Callable
from typing import Any

from chat.offline.plans import (
    QUOTES,
    Call,
    Intent,
    acting,
    asking,
    by_name,
    clean_title,
    direct,
    listing,
    subtask_of,
    subtasks,
    subtasks_named,
)
from chat.phrases import PERIOD_SAID, RECURRENCE_SAID, WEEKDAY, WHEN_SAID

HELP = (
    "I can manage your tasks. Try:\n"
    "• “add buy milk” or “add a task to call mom”\n"
    "• “add buy milk tomorrow 5pm high priority #errands” or “add water plants every monday”\n"
    "• “show my tasks”, “what's pending?”, “what have I completed?”\n"
    "• “what is due this week?”, “what's overdue?”, “show tasks tagged errands”, “show high priority tasks”\n"
    "• “complete task 3” or “mark task 3 as done”\n"
    "• “delete task 3” or “delete the meeting task”\n"
    "• “rename task 3 to Call mom tonight”\n"
    "• “update task 3 description to bring the receipts”\n"
    "• “set task 3 priority to high” or “move task 3 to friday”\n"
    "• “create a list called Home”, “show my lists”, “show my Work list”, “add milk to my Groceries list”, "
    "“move task 3 to Work”\n"
    "• “add a subtask 'book flights' to task 3”, “what's left on the trip task?”"
)

DONE_WORDS = r"(?:done|complete|completed|finished)"
TASK_ID = r"(?:task\s+)?(?:number\s+|no\.?\s*)?#?(?P<id>\d+)"

LEVEL = r"(?:high|medium|low)"
# What may follow a title in "add …": tried from the end, each at most once ("every monday" before "monday").
# A separator run is only tried from its first character, and taken whole (possessive: never given back one by one),
# so a long run of commas costs linear time, not quadratic.
SEPARATOR = r"(?<![\s,])[\s,]++"
TASK_SUFFIXES = {
    "recurrence": re.compile(rf"{SEPARATOR}(?P<value>{RECURRENCE_SAID})$", re.IGNORECASE),
    "priority": re.compile(
        rf"{SEPARATOR}(?:with\s+|at\s+)?(?:an?\s+)?\(?(?:(?P<value>{LEVEL})[\s-]+priority|priority\s*:?\s*(?P<value2>{LEVEL}))\)?$",
        re.IGNORECASE,
    ),
    # Not "monday" in "every monday"; a run of separators after "every" still counts from its second character.
    "due": re.compile(
        rf"(?<![\s,])(?:(?<!every)(?<!each)|[\s,])[\s,]++(?:(?:due|by)\s+)?(?:on\s+)?(?P<value>{WHEN_SAID})$",
        re.IGNORECASE,
    ),
}
HASHTAG = re.compile(r"(?:^|\s)#(?P<tag>[^\W\d_][\w-]*)")


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _add(text: str, **placement: Any) -> Intent:
    """Add the task `text` says (its title, then its fields), where `placement` says (list, parent)."""
    text, fields = _task_fields(text)
    title = clean_title(text)
    if not title or title.lower() in {"task", "a task", "todo", "new task"}:
        return asking("What should the new task be called? Say e.g. “add buy milk”.")
    return direct(Call("add_task", {"title": title, **fields, **placement}))


def _task_fields(text: str) -> tuple[str, dict[str, Any]]:
    """Take the #tags, and the recurrence, priority and due date said after the title, out of `text`."""
    tags = list(dict.fromkeys(tag.lower() for tag in HASHTAG.findall(text)))
    text = HASHTAG.sub("", text).strip()
    fields: dict[str, Any] = {}
    while found := _last_field(text, fields):
        name, match = found
        fields[name] = (match["value"] or match.groupdict().get("value2") or "").strip()
        text = text[: match.start()].rstrip(" ,;")
    if "priority" in fields:
        fields["priority"] = fields["priority"].lower()
    if tags:
        fields["tags"] = tags
    return re.sub(r"\s+and$", "", text), fields


PENDING_WORDS = r"pending|open|unfinished|incomplete|outstanding|left|remaining|to\s?-?do|not\s+done"
COMPLETED_WORDS = r"completed|done|finished|accomplished"


LIST_LIKE = (
    r"^(?:what|which|show|list|display|view|see|get|give|any(?:thing)?|how\s+many|do\s+i\s+have|is\s+there"
    r"|are\s+there|tell\s+me|due|overdue)\b|\b(?:tasks?|todos?|to-?dos?)\b"
)
TAG_FILTER = re.compile(
    r"(?:\btagged\s+(?:with\s+|as\s+)?#?|\bwith\s+(?:the\s+)?tags?\s+#?|#)"
    r"(?P<tags>[^\W\d_][\w-]*(?:\s*(?:,|\bor\b)\s*#?[^\W\d_][\w-]*)*)",
    re.IGNORECASE,
)
PRIORITY_FILTER = re.compile(
    rf"\b(?P<levels>{LEVEL}(?:\s*(?:,|\bor\b|\band\b)\s*{LEVEL}){{0,2}})[\s-]+priority\b|\bpriority\s+(?P<level>{LEVEL})\b",
    re.IGNORECASE,
)
DUE_FILTER = re.compile(
    rf"\bdue\s+(?:(?P<prep>on|by|before|until)\s+)?(?P<when>today|tonight|tomorrow|{PERIOD_SAID}|{WEEKDAY})\b",
    re.IGNORECASE,
)


def _last_field(text: str, found: dict[str, Any]) -> tuple[str, re.Match[str]] | None:
    """The first field not found yet (recurrence, priority, due) that ends `text`."""
    for name, pattern in TASK_SUFFIXES.items():
        if name not in found and (match := pattern.search(text)):
            return name, match
    return None


def _filtered_list(command: str) -> Intent | None:
    """A question about some tasks ("what is due this week", "show tasks tagged errands"), or None."""
    arguments: dict[str, Any] = {}
    if match := TAG_FILTER.search(command):
        arguments["tag"] = ",".join(re.findall(r"[^\W\d_][\w-]*", re.sub(r"\bor\b", ",", match["tags"]))).lower()
    if match := PRIORITY_FILTER.search(command):
        arguments["priority"] = ",".join(re.findall(LEVEL, (match["levels"] or match["level"]).lower()))
    if re.search(r"\b(?:overdue|past\s+due)\b", command, re.IGNORECASE):
        arguments["overdue"] = True
    elif match := DUE_FILTER.search(command):
        arguments |= _due_range(match["prep"], match["when"])
    if not arguments:
        return None
    if re.search(rf"\b(?:{PENDING_WORDS})\b", command, re.IGNORECASE):
        arguments["status"] = "pending"
    elif re.search(rf"\b(?:{COMPLETED_WORDS})\b", command, re.IGNORECASE):
        arguments["status"] = "completed"
    elif "due_before" in arguments:
        arguments["status"] = "pending"  # what is due is what is still to do
    return direct(Call("list_tasks", arguments))


def _due_range(prep: str | None, when: str) -> dict[str, str]:
    """Filter bounds for "due <when>": today and this week include what is overdue, other days are exact."""
    when = " ".join(when.lower().split()).replace("tonight", "today")
    if prep and prep.lower() == "before":
        return {"due_before": f"start of {when}"}
    if prep or when == "today" or when.startswith("this "):
        return {"due_before": f"end of {when}"}
    return {"due_after": f"start of {when}", "due_before": f"end of {when}"}


def _status_question(words: str) -> str:
    """ "What's pending?", "show completed tasks", "pending tasks": a question or a list of that status."""
    return (
        rf"^(?:what|which|show|list|display|view|see|get|give|any|how\s+many)\b.*\b(?:{words})\b"
        rf"|\b(?:{words})\s+(?:tasks?|todos?|to-?dos?|items?)\b"
    )


ADD = _rule(
    r"^(?:add|create|new|make|put)(?:\s*:\s*|\s+)(?:a\s+|an\s+)?(?:new\s+)?(?:task|todo|to-do|item|reminder)?"
    r"\s*(?:to\s+|:\s*|-\s*|called\s+|named\s+|for\s+)?(?P<title>.*?)(?:\s+to\s+my\s+(?:list|tasks))?$"
)


# Lists and subtasks. The message has single spaces here (understand), so `\s` is one; a name said in a
# pattern is at most as long as a list's name can be, which keeps each search linear.
def _task_id(group: str) -> str:
    return TASK_ID.replace("id>", f"{group}>")


LIST_NAME = r"(?P<list>[^\s].{0,99}?)"
TASK_NAME = r"(?:the\s|my\s)?(?P<name>[^\s].{0,99}?)"
A_TASK = rf"(?:{_task_id('id')}|{TASK_NAME}\stask)"  # "task 3", or "the trip task" (by its title)
SHOW = r"(?:show|list|display|view|see|open|get)(?:\sme)?"
GENERIC = {"task", "tasks", "todo", "todos", "to-do", "to do"}  # "my to-do list": all the user's tasks


def _in_list(name: str, status: str = "all") -> Intent:
    if name.strip(QUOTES).lower() in GENERIC:
        return listing(status)
    return direct(Call("list_tasks", {"status": status, "list": name.strip(QUOTES)}))


def _added_to_list(m: re.Match[str]) -> Intent:
    title, name = ADD.sub(r"\g<title>", f"add {m['title']}"), m["list"].strip(QUOTES)  # as a plain "add …" says it
    return _add(title) if name.lower() in GENERIC else _add(title, list=name)


def _subtask(m: re.Match[str]) -> Intent:
    """Add a subtask to the task given by its id, or by its title (list the tasks, then add)."""
    if m["id"]:
        return _add(m["title"], parent=int(m["id"]))
    added = _add(m["title"])
    step = added.plan([])
    return by_name(m["name"].strip(QUOTES), subtask_of(step)) if isinstance(step, Call) else added


def _subtasks_of(m: re.Match[str], status: str) -> Intent:
    if m["id"]:
        return direct(subtasks(int(m["id"]), status))
    return by_name(m["name"].strip(QUOTES), subtasks_named(status))


STRUCTURE_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Intent | None]]] = [
    # Moves first: "put task 4 on the Work list" moves task 4, "put milk on my Groceries list" adds.
    (
        _rule(
            rf"^(?:(?:move|put)\s{TASK_ID}\s(?:under|below)|make\s{_task_id('id2')}\s(?:a\s)?sub-?task\s(?:of|under))"
            rf"\s{_task_id('parent')}$"
        ),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"] or m["id2"]), "parent": int(m["parent"])})),
    ),
    (
        _rule(rf"^(?:make\s{TASK_ID}\sa\stop-?level\stask|move\s{_task_id('id2')}\sout\sof\s{_task_id('id3')})$"),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"] or m["id2"]), "parent": 0})),
    ),
    (
        _rule(rf"^(?:move|put|file)\s{TASK_ID}\s(?:to|into|in|onto|on)\s(?:the\s|my\s)?{LIST_NAME}(?:\slist)?$"),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"]), "list": m["list"].strip(QUOTES)})),
    ),
    (
        _rule(
            rf"^(?:{SHOW}(?:\sall)?(?:\sof)?\s(?:my|the)|what(?:'s|\sis|\sare)\s(?:my|the)|what|which)\s(?:task\s)?lists"
            r"(?:\sdo\si\shave)?$"
        ),
        lambda m: direct(Call("list_lists", {})),
    ),
    (
        _rule(
            r"^(?:create|make|add|start|new)(?:\s(?:a|an))?(?:\snew)?\slist(?:\s(?:called|named)\s|\s?:\s?)(?P<name>.+)$"
        ),
        lambda m: direct(Call("create_list", {"name": clean_title(m["name"])})),
    ),
    (
        _rule(r"^(?:create|make|add|start|new)(?:\s(?:a|an))?(?:\snew)?\slist$"),
        lambda m: asking("What should the new list be called? Say e.g. “create a list called Home”."),
    ),
    (
        _rule(r"^(?:create|make|start)(?:\s(?:a|an))?(?:\snew)?\s(?P<name>[^\s].{0,99}?)\slist$"),
        lambda m: direct(Call("create_list", {"name": clean_title(m["name"])})),
    ),
    (
        _rule(
            r"^rename\s(?:the\s|my\s)?(?:list\s(?P<old>.{1,100}?)|(?P<old2>.{1,100}?)\slist)\s(?:to|as)\s(?P<name>.+)$"
        ),
        lambda m: direct(
            Call("rename_list", {"list": (m["old"] or m["old2"]).strip(QUOTES), "name": clean_title(m["name"])})
        ),
    ),
    (
        _rule(rf"^(?:add|put)(?:\s?:)?\s(?P<title>.+)\s(?:to|on|in|into|onto)\s(?:my|the)\s{LIST_NAME}\slist$"),
        _added_to_list,
    ),
    (
        _rule(
            rf"^(?:{SHOW}(?:\s(?:all|everything))?(?:\s(?:the\s)?tasks)?(?:\s(?:on|in|from))?|what(?:'s|\sis|\sare)?"
            rf"(?:\s(?P<left>left|pending|open|remaining))?\s(?:on|in))\s(?:my|the)\s{LIST_NAME}\slist$"
        ),
        lambda m: _in_list(m["list"], "pending" if m["left"] else "all"),
    ),
    (
        _rule(rf"^(?:{SHOW}|what(?:'s|\sis)\sin)\s(?:my|the)\sinbox$"),
        lambda m: _in_list("Inbox"),
    ),
    (
        _rule(
            rf"^(?:add|create|new)(?:\s(?:a|an))?(?:\snew)?\ssub-?task(?:\s(?:called|named))?(?:\s?:)?\s(?P<title>.+)"
            rf"\s(?:to|under|for|on|of|in)\s{A_TASK}$"
        ),
        _subtask,
    ),
    (
        _rule(
            rf"^(?:add|put)\s(?P<title>.+?)\s(?:(?:as\s)?(?:a\s)?sub-?task\s(?:of|to|under|for|in)|under)\s{A_TASK}$"
        ),
        _subtask,
    ),
    (
        _rule(r"^(?:add|create|new)(?:\s(?:a|an))?(?:\snew)?\ssub-?task\b"),
        lambda m: asking("Which task should it go under? Say e.g. “add a subtask 'book flights' to task 3”."),
    ),
    (
        _rule(
            rf"^(?:what(?:'s|\sis|\sare)?|which\s(?:sub-?tasks|steps)\sare)\s(?:still\s)?"
            rf"(?:left|remaining|open|pending|to\sdo|undone|not\sdone)\s(?:on|in|for|of|under|with)\s{A_TASK}$"
        ),
        lambda m: _subtasks_of(m, "pending"),
    ),
    (
        _rule(
            rf"^{SHOW}(?:\s(?:all|the|my))?(?:\s(?P<open>open|pending))?\s(?:sub-?tasks|steps)\s(?:of|for|on|under|in)"
            rf"\s{A_TASK}$"
        ),
        lambda m: _subtasks_of(m, "pending" if m["open"] else "all"),
    ),
]


# First match wins; patterns are tried on the message without its final punctuation.
RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Intent | None]]] = [
    (
        _rule(rf"^(?:set|change|update|make)\s+{TASK_ID}(?:'s)?\s+priority\s+(?:to\s+|as\s+)?(?P<level>{LEVEL}|none)$"),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"]), "priority": m["level"].lower()})),
    ),
    (
        _rule(rf"^make\s+{TASK_ID}\s+(?P<level>{LEVEL})[\s-]+priority$"),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"]), "priority": m["level"].lower()})),
    ),
    (
        _rule(
            rf"^(?:(?:move|reschedule|postpone|push)\s+{TASK_ID}\s+(?:to|till|until)"
            rf"|(?:set|change)\s+{TASK_ID.replace('id>', 'id2>')}(?:'s)?\s+due(?:\s+date)?\s+(?:to|as)"
            rf"|{TASK_ID.replace('id>', 'id3>')}\s+is\s+due(?:\s+on|\s+by)?)\s+(?P<when>{WHEN_SAID})$"
        ),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"] or m["id2"] or m["id3"]), "due": m["when"]})),
    ),
    (
        _rule(
            rf"^(?:update|change|set|edit)\s+(?:the\s+)?(?:description\s+of\s+{TASK_ID}"
            rf"|{TASK_ID.replace('id>', 'id2>')}(?:'s)?\s+description)\s+(?:to|as)\s+(?P<text>.+)$"
        ),
        lambda m: direct(
            Call("update_task", {"task_id": int(m["id"] or m["id2"]), "description": m["text"].strip(QUOTES)})
        ),
    ),
    (
        _rule(rf"^(?:rename|change|update|edit)\s+{TASK_ID}(?:'s)?(?:\s+title)?\s+(?:to|as|into)\s+(?P<title>.+)$"),
        lambda m: direct(Call("update_task", {"task_id": int(m["id"]), "title": clean_title(m["title"])})),
    ),
    (
        _rule(rf"^(?:mark|complete|finish|check\s+off|tick\s+off|close)\s+{TASK_ID}(?:\s+(?:as\s+)?{DONE_WORDS})?$"),
        lambda m: direct(Call("complete_task", {"task_id": int(m["id"])})),
    ),
    (
        _rule(rf"^{TASK_ID}\s+is\s+{DONE_WORDS}$"),
        lambda m: direct(Call("complete_task", {"task_id": int(m["id"])})),
    ),
    (
        _rule(rf"^(?:delete|remove|drop|cancel|erase)\s+{TASK_ID}$"),
        lambda m: direct(Call("delete_task", {"task_id": int(m["id"])})),
    ),
    *STRUCTURE_RULES,
    (
        _rule(
            r"^(?:i\s+(?:need|have|want|must|should)\s+(?:to\s+)?(?:remember\s+to\s+)?|remind\s+me\s+to\s+"
            r"|remember\s+to\s+|don'?t\s+(?:let\s+me\s+)?forget\s+to\s+)(?P<title>.+)$"
        ),
        lambda m: _add(m["title"]),
    ),
    (ADD, lambda m: _add(m["title"])),
    (_rule(LIST_LIKE), lambda m: _filtered_list(m.string)),
    (
        _rule(
            r"^(?:find|search(?:\s+for)?|look\s+for)\s+(?:my\s+)?(?:tasks?\s+)?"
            r"(?:about\s+|with\s+|containing\s+|mentioning\s+|matching\s+|for\s+)?(?:the\s+)?(?P<q>.+?)(?:\s+tasks?)?$"
        ),
        lambda m: direct(Call("list_tasks", {"search": m["q"].strip(QUOTES)})),
    ),
    (_rule(_status_question(PENDING_WORDS)), lambda m: listing("pending")),
    (_rule(_status_question(COMPLETED_WORDS)), lambda m: listing("completed")),
    (_rule(r"\b(?:tasks?|todos?|to-?dos?|list)\b"), lambda m: listing("all")),
]
NAME_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        _rule(r"^(?:delete|remove|drop|cancel|erase)\s+(?:the\s+|my\s+)?(?P<name>.+?)(?:\s+(?:task|todo))?$"),
        "delete_task",
    ),
    (
        _rule(
            r"^(?:mark|complete|finish|check\s+off|tick\s+off)\s+(?:the\s+|my\s+)?(?P<name>.+?)(?:\s+(?:task|todo))?"
            rf"(?:\s+(?:as\s+)?{DONE_WORDS})?$"
        ),
        "complete_task",
    ),
]


def understand(message: str) -> Intent:
    """The intent of one user message."""
    text = " ".join(message.replace("\u2019", "'").split())
    text = re.sub(r"^(?:please|pls|could you|can you|would you)\s+", "", text, flags=re.IGNORECASE)
    command = text.rstrip(".!?").strip()
    for pattern, action in NAME_RULES:
        # "delete the meeting task" names a task; "delete task 3" is left to RULES below.
        match = pattern.search(command)
        if match and not re.fullmatch(TASK_ID, match["name"], re.IGNORECASE) and not _means_all(command):
            return by_name(match["name"].strip(QUOTES), acting(action))
    for pattern, build in RULES:
        match = pattern.search(command)
        if match and (intent := build(match)):
            return intent
    return asking(HELP)


def _means_all(command: str) -> bool:
    return bool(re.match(r"^(?:mark|complete|finish|delete|remove)\s+(?:all|every)", command, re.IGNORECASE))
