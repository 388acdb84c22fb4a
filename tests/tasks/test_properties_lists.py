"""Property test: any sequence of list and subtask operations by three users (lists created, renamed, deleted
with their tasks or moving them, restored; tasks created in lists and under parents, moved by list, parent
or anchor, completed, deleted and restored with their subtrees; cycles, a fourth level and other users' ids
attempted) keeps the tree rules and matches a simple model of what should be there. A refused operation
raises the documented error and changes no row."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tasks import selectors, services
from tasks.exceptions import ListNotFound, TaskNotFound
from tasks.models import MAX_DEPTH, Task, TaskList
from tasks.services import lists
from tasks.services.subtasks import A_CYCLE, IN_PARENTS_LIST, NO_SUCH_TASK, TOO_DEEP
from tasks.services.validation import NO_SUCH_LIST

USERS = ["alice", "bob", "carol"]
MISSING = 10**12  # no row has this id
ABSENT = object()
NAMES = ["Work", "work", "Home", " Trip ", "Inbox", "inbox", "   "]
SIDES = st.sampled_from(["before", "after"])
TAKEN = {"name": ["A list with this name exists."]}
BLANK = {"name": ["This field cannot be blank."]}
FOREIGN = [
    "their task under my task", "their task to my list", "my task under theirs", "my task to their list",
    "their task next to mine", "mine next to theirs", "a task under theirs", "a task in their list",
    "complete theirs", "delete theirs", "restore theirs", "rename their list", "delete their list",
    "delete mine moving to theirs", "restore their list",
]  # fmt: skip


def refusal(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def described(error: Exception) -> object:
    if isinstance(error, ValidationError):
        return error.message_dict
    return type(error), str(error)


def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every row of tasks and lists, every column: what a refused operation must leave as it was."""
    return list(Task.objects.order_by("id").values()), list(TaskList.objects.order_by("id").values())


class Refused(Exception):
    """The model's word on a write: it is refused with `args[0]` (a ValidationError, TaskNotFound, ...)."""


class ListsAndSubtasks(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        services.task_delete_all(user_ids=USERS)
        TaskList.objects.filter(user_id__in=USERS).delete()
        # list id -> {"user", "name", "inbox", "deleted"}; task id -> {"user", "list" (None: the Inbox),
        # "parent", "completed", "deleted"}. "deleted" is None while live, else the number of the step that
        # trashed it: rows trashed together share one deleted_at, and come back together.
        self.lists: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.steps = 0
        for user in USERS:
            inbox = lists.inbox(user_id=user)
            self.lists[inbox.id] = {"user": user, "name": inbox.name, "inbox": True, "deleted": None}

    # What the model knows -------------------------------------------------------------------------

    def live(self, task_id: int | None, user: str) -> bool:
        task = self.tasks.get(task_id)  # type: ignore[arg-type]
        return task is not None and task["user"] == user and task["deleted"] is None

    def live_list(self, list_id: int | None, user: str) -> bool:
        task_list = self.lists.get(list_id)  # type: ignore[arg-type]
        return task_list is not None and task_list["user"] == user and task_list["deleted"] is None

    def stored(self, list_id: int | None) -> int | None:
        """A list id as a task stores it: None for the Inbox."""
        return None if list_id is None or self.lists[list_id]["inbox"] else list_id

    def children(self, task_id: int, *, deleted: object = None) -> list[int]:
        return [child for child, task in self.tasks.items() if task["parent"] == task_id and task["deleted"] == deleted]

    def below(self, task_id: int, *, deleted: object = None) -> list[int]:
        """The descendants in this state (live by default), every level."""
        found, level = [], self.children(task_id, deleted=deleted)
        while level:
            found += level
            level = [child for task in level for child in self.children(task, deleted=deleted)]
        return found

    def parent_list(self, task_id: int) -> object:
        parent = self.tasks[task_id]["parent"]
        return ABSENT if parent is None else self.tasks[parent]["list"]

    def depth(self, task_id: int) -> int:
        parent = self.tasks[task_id]["parent"]
        return 1 if parent is None else 1 + self.depth(parent)

    def height(self, task_id: int, *, deleted: object = None) -> int:
        return max((1 + self.height(child, deleted=deleted) for child in self.children(task_id, deleted=deleted)),
                   default=0)  # fmt: skip

    def task_ids(self) -> list[int]:
        return [*sorted(self.tasks), MISSING]

    def list_ids(self) -> list[int]:
        return [*sorted(self.lists), MISSING]

    def live_ids(self, user: str | None = None) -> list[int]:
        return sorted(t for t, task in self.tasks.items() if task["deleted"] is None and user in (None, task["user"]))

    def list_ids_of(self, user: str) -> list[int]:
        return sorted(list_id for list_id in self.lists if self.live_list(list_id, user))

    def often_deep(self, task_ids: list[int]) -> list[int]:
        """The ids to draw from, those at the second level or below twice (room for only one more below)."""
        return [*(task_id for task_id in task_ids if self.depth(task_id) > 1), *task_ids]

    def often_trashed_below(self) -> list[int]:
        """The live tasks to draw from, twice those with a subtask in the trash on its own (one to restore later)."""
        parents = {task["parent"] for task in self.tasks.values() if task["deleted"] is not None}
        return [*(task_id for task_id in self.live_ids() if task_id in parents), *self.live_ids()]

    def caller(self, data: Any, row: dict[str, Any] | None) -> str:
        """Who calls with the id drawn: mostly its owner, else anyone (then another user's id, often)."""
        owner = row["user"] if row is not None else USERS[0]
        return data.draw(st.sampled_from([owner, owner, *USERS]))

    def attempt(self, call: Callable[[], Any], expect: Callable[[], Any]) -> tuple[Any, Any]:
        """Ask the model (`expect`: what the write does, or Refused), then run the service call: a refusal
        raises the model's error and changes no row. The call's result and the model's, or (None, None)."""
        self.steps += 1
        try:
            expected = expect()
        except Refused as refused:
            error = refused.args[0]
        else:
            return call(), expected
        before = snapshot()
        with pytest.raises((ValidationError, ObjectDoesNotExist)) as caught:
            call()
        assert described(caught.value) == described(error)
        assert snapshot() == before
        return None, None

    def subtrees_match(self, user: str) -> None:
        """The subtree read of each of the user's top-level tasks is the model's (every level below it)."""
        for task_id in self.live_ids(user):
            if self.tasks[task_id]["parent"] is None:
                found = [row.id for row in selectors.task_subtree(user_id=user, task_id=task_id)]
                assert sorted(found) == sorted([task_id, *self.below(task_id)]), task_id

    # Lists ------------------------------------------------------------------------------------------

    def taken(self, user: str, name: str, *, but: int | None = None) -> bool:
        return any(
            task_list["user"] == user and task_list["deleted"] is None and task_list["name"].lower() == name.lower()
            for list_id, task_list in self.lists.items()
            if list_id != but
        )

    def create_list(self, user: str, name: str) -> None:
        def expect() -> None:
            if not name.strip():
                raise Refused(ValidationError(BLANK))
            if self.taken(user, name.strip()):
                raise Refused(ValidationError(TAKEN))

        made, _ = self.attempt(lambda: lists.list_create(user_id=user, name=name), expect)
        if made is not None:
            assert made.name == name.strip()
            self.lists[made.id] = {"user": user, "name": made.name, "inbox": False, "deleted": None}

    def rename_list(self, user: str, list_id: int, name: str) -> None:
        name = name.strip()

        def expect() -> None:
            if not name:
                raise Refused(ValidationError(BLANK))
            if not self.live_list(list_id, user):
                raise Refused(ListNotFound(list_id))
            if self.lists[list_id]["inbox"] and name != lists.INBOX_NAME:
                raise Refused(refusal("name", "The Inbox keeps its name and cannot be archived."))
            if self.taken(user, name, but=list_id):
                raise Refused(ValidationError(TAKEN))

        renamed, _ = self.attempt(lambda: lists.list_update(user_id=user, list_id=list_id, name=name), expect)
        if renamed is not None:
            self.lists[list_id]["name"] = name

    def delete_list(self, user: str, list_id: int, target: int | None) -> None:
        def expect() -> bool:
            if not self.live_list(list_id, user):
                raise Refused(ListNotFound(list_id))
            if self.lists[list_id]["inbox"]:
                raise Refused(refusal("detail", "The Inbox cannot be deleted."))
            if target == list_id:
                raise Refused(refusal("move_tasks_to", "Cannot move the tasks to the list being deleted."))
            if target is not None and not self.live_list(target, user):
                raise Refused(refusal("move_tasks_to", NO_SUCH_LIST))
            return True

        call = lambda: lists.list_delete(user_id=user, list_id=list_id, move_tasks_to=target)  # noqa: E731
        if self.attempt(call, expect)[1]:
            for task in self.tasks.values():
                if task["list"] == list_id and task["deleted"] is None:
                    if target is None:
                        task["deleted"] = self.steps  # to the trash with the list, or to the target first
                    else:
                        task["list"] = self.stored(target)
            self.lists[list_id]["deleted"] = self.steps
            self.subtrees_match(user)

    def restore_list(self, user: str, list_id: int) -> None:
        task_list = self.lists.get(list_id)

        def expect() -> None:
            if task_list is None or task_list["user"] != user or task_list["deleted"] is None:
                raise Refused(ListNotFound(list_id))
            if self.taken(user, task_list["name"]):
                raise Refused(ValidationError(TAKEN))

        restored, _ = self.attempt(lambda: lists.list_restore(user_id=user, list_id=list_id), expect)
        if restored is not None:
            assert task_list is not None
            for task in self.tasks.values():  # the tasks that went to the trash with it
                if task["list"] == list_id and task["deleted"] == task_list["deleted"]:
                    task["deleted"] = None
            task_list["deleted"] = None
            self.subtrees_match(user)

    # Tasks -------------------------------------------------------------------------------------------

    def create_task(self, user: str, list_id: int | None, parent_id: int | None, completed: bool = False) -> None:
        def expect() -> dict[str, Any]:
            if list_id is not None and not self.live_list(list_id, user):
                raise Refused(refusal("list_id", NO_SUCH_LIST))
            where = {"list": self.stored(list_id), "parent": parent_id}
            if parent_id is None:
                return where
            if not self.live(parent_id, user):
                raise Refused(refusal("parent_id", NO_SUCH_TASK))
            if self.depth(parent_id) + 1 > MAX_DEPTH:
                raise Refused(refusal("parent_id", TOO_DEEP))
            if where["list"] is not None and where["list"] != self.tasks[parent_id]["list"]:
                raise Refused(refusal("list_id", IN_PARENTS_LIST))  # no list, or the Inbox's id: the parent's
            return {**where, "list": self.tasks[parent_id]["list"]}

        call = lambda: services.task_create(  # noqa: E731
            user_id=user, title="t", list_id=list_id, parent_id=parent_id, completed=completed
        )
        made, where = self.attempt(call, expect)
        if made is not None:
            assert (made.list_id, made.parent_id) == (where["list"], where["parent"])
            self.tasks[made.id] = {"user": user, "completed": completed, "deleted": None, **where}
            self.subtrees_match(user)

    def placed(self, user: str, task_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Where task_update(**changes) puts the task (its new "list" and "parent"), or Refused: the model of
        validation.list_for_task, subtasks.placed and the write after them."""
        values: dict[str, Any] = {}
        if "list_id" in changes:
            if changes["list_id"] is not None and not self.live_list(changes["list_id"], user):
                raise Refused(refusal("list_id", NO_SUCH_LIST))
            values["list"] = self.stored(changes["list_id"])
        owned = self.live(task_id, user)  # another user's task is one that does not exist
        parent = changes.get("parent_id")
        if parent is not None:
            if not self.live(parent, user):
                raise Refused(refusal("parent_id", NO_SUCH_TASK))
            if owned and (parent == task_id or parent in self.below(task_id)):
                raise Refused(refusal("parent_id", A_CYCLE))
            if self.depth(parent) + 1 + (self.height(task_id) if owned else 0) > MAX_DEPTH:
                raise Refused(refusal("parent_id", TOO_DEEP))
            if "list" in values and values["list"] != self.tasks[parent]["list"]:
                raise Refused(refusal("list_id", IN_PARENTS_LIST))
            values.update(parent=parent, list=self.tasks[parent]["list"])
        elif "parent_id" in changes:
            values["parent"] = None
        elif "list" in values and owned and self.parent_list(task_id) not in (values["list"], ABSENT):
            values["parent"] = None  # moved to another list alone: it leaves its parent
        if not owned:
            raise Refused(TaskNotFound(task_id))
        return values

    def moved(self, task_id: int, values: dict[str, Any]) -> None:
        task = self.tasks[task_id]
        task.update(values)
        if "list" in values:
            for child in self.below(task_id):  # the subtree follows
                self.tasks[child]["list"] = task["list"]
        self.subtrees_match(task["user"])

    def update_place(self, user: str, task_id: int, changes: dict[str, Any]) -> None:
        call = lambda: services.task_update(user_id=user, task_id=task_id, **changes)  # noqa: E731
        task, values = self.attempt(call, lambda: self.placed(user, task_id, changes))
        if task is not None:
            self.moved(task_id, values)
            assert (task.list_id, task.parent_id) == (self.tasks[task_id]["list"], self.tasks[task_id]["parent"])

    def level(self, user: str, task_id: int) -> list[int]:
        """The live siblings of the task with itself, in their order (position, id)."""
        task = self.tasks[task_id]
        level = Task.objects.filter(user_id=user, list_id=task["list"], parent_id=task["parent"], deleted_at=None)
        return list(level.order_by("position", "id").values_list("id", flat=True))

    def move_next_to(self, user: str, task_id: int, side: str, anchor_id: int) -> None:
        def expect() -> tuple[dict[str, Any], list[int]]:
            """The model of services.task_move: the task's new place, and the order of the others there."""
            if anchor_id == task_id:
                raise Refused(refusal(side, "A task cannot be moved next to itself."))
            if not self.live(anchor_id, user):
                raise Refused(refusal(side, NO_SUCH_TASK))
            if not self.live(task_id, user):
                raise Refused(TaskNotFound(task_id))
            anchor, task = self.tasks[anchor_id], self.tasks[task_id]
            changes = {f"{name}_id": anchor[name] for name in ("list", "parent") if anchor[name] != task[name]}
            others = [sibling for sibling in self.level(user, anchor_id) if sibling != task_id]
            return self.placed(user, task_id, changes), others

        call = lambda: services.task_move(user_id=user, task_id=task_id, side=side, anchor_id=anchor_id)  # noqa: E731
        task, expected = self.attempt(call, expect)
        if task is not None:
            values, others = expected
            self.moved(task_id, values)
            level = self.level(user, anchor_id)
            assert [sibling for sibling in level if sibling != task_id] == others  # the others keep their order
            assert level.index(task_id) == level.index(anchor_id) + (1 if side == "after" else -1)

    def set_completed(self, user: str, task_id: int, completed: bool | None) -> None:
        def expect() -> None:
            if not self.live(task_id, user):
                raise Refused(TaskNotFound(task_id))

        call = lambda: services.task_set_completed(user_id=user, task_id=task_id, completed=completed)  # noqa: E731
        if self.attempt(call, expect)[0] is None:
            return
        task = self.tasks[task_id]
        task["completed"] = not task["completed"] if completed is None else completed
        if task["completed"]:  # open subtasks complete with it; a subtask never completes its parent
            for child in self.below(task_id):
                self.tasks[child]["completed"] = True
            # just after a completion: no open subtask under it (reopening it later leaves them as they are)
            assert all(row.completed for row in selectors.task_subtree(user_id=user, task_id=task_id))

    def delete_task(self, user: str, task_id: int) -> None:
        def expect() -> None:
            if not self.live(task_id, user):
                raise Refused(TaskNotFound(task_id))

        if self.attempt(lambda: services.task_delete(user_id=user, task_id=task_id), expect)[0] is not None:
            for trashed in [task_id, *self.below(task_id)]:
                self.tasks[trashed]["deleted"] = self.steps
            self.subtrees_match(user)

    def restore_task(self, user: str, task_id: int) -> None:
        def expect() -> None:
            task = self.tasks.get(task_id)
            if task is None or task["user"] != user or task["deleted"] is None:
                raise Refused(TaskNotFound(task_id))

        if self.attempt(lambda: services.task_restore(user_id=user, task_id=task_id), expect)[0] is None:
            return
        # The subtasks trashed with it come back with it. It comes back under its parent while the parent is
        # live and there is room below it for its subtree, in the parent's list; else top-level, in its own
        # list while that is live, else in the Inbox.
        task = self.tasks[task_id]
        trashed_at, parent = task["deleted"], task["parent"]
        with_it = self.below(task_id, deleted=trashed_at)
        if (
            parent is not None
            and self.live(parent, user)
            and (self.depth(parent) + 1 + self.height(task_id, deleted=trashed_at) <= MAX_DEPTH)
        ):
            task["list"] = self.tasks[parent]["list"]
        else:
            task["parent"] = None
            if task["list"] is not None and not self.live_list(task["list"], user):
                task["list"] = None
        for restored in [task_id, *with_it]:
            self.tasks[restored].update(deleted=None, list=task["list"])
        self.subtrees_match(user)

    # Rules ---------------------------------------------------------------------------------------------

    @initialize(data=st.data())
    def a_few_trees(self, data):
        """Each user starts with a list and a few tasks in it or the Inbox, some under others."""
        for user in USERS:
            self.create_list(user, "Work")
            for _ in range(5):
                ours = self.live_ids(user)
                parent_id = data.draw(st.none() | st.sampled_from(ours)) if ours else None
                list_id = data.draw(st.none() | st.sampled_from(self.list_ids_of(user)))
                self.create_task(user, list_id, parent_id, data.draw(st.booleans()))

    @rule(data=st.data(), how=st.sampled_from(["new", "rename", "delete", "delete moving", "restore"]))
    def a_list(self, data, how):
        """Make, rename, delete (its tasks to the trash, or moved to another list) or restore a list: any id."""
        name = data.draw(st.sampled_from(NAMES))
        trashed = sorted(list_id for list_id, task_list in self.lists.items() if task_list["deleted"] is not None)
        list_id = data.draw(st.sampled_from([*trashed, *self.list_ids()] if how == "restore" else self.list_ids()))
        user = self.caller(data, self.lists.get(list_id))
        if how == "new":
            self.create_list(user, name)
        elif how == "rename":
            self.rename_list(user, list_id, name)
        elif how == "restore":
            self.restore_list(user, list_id)
        else:
            self.delete_list(user, list_id, data.draw(st.sampled_from(self.list_ids())) if how != "delete" else None)

    @rule(data=st.data(), how=st.sampled_from(["in a list", "under a task", "anywhere"]), completed=st.booleans())
    def create(self, data, how, completed):
        """In the Inbox or one of the user's lists; under a live task (a fourth level too, or in another list
        than the parent's); or with any list and parent ids (another user's, in the trash, missing)."""
        user = data.draw(st.sampled_from(USERS))
        if how == "in a list":
            self.create_task(user, data.draw(st.none() | st.sampled_from(self.list_ids_of(user))), None, completed)
        elif how == "under a task" and self.live_ids():
            parent_id = data.draw(st.sampled_from(self.live_ids()))
            parent = self.tasks[parent_id]
            in_list = parent["list"] if data.draw(st.booleans()) else data.draw(st.sampled_from(self.list_ids()))
            self.create_task(parent["user"], in_list, parent_id, completed)
        else:
            list_id = data.draw(st.none() | st.sampled_from(self.list_ids()))
            self.create_task(user, list_id, data.draw(st.none() | st.sampled_from(self.task_ids())), completed)

    @rule(data=st.data(), how=st.sampled_from(["to a list", "under a task", "anywhere"]))
    def place(self, data, how):
        """task_update with list_id or parent_id: a live task to another of its owner's lists, or under another
        of their live tasks (one of its own subtasks, a cycle, or itself now and then, a fourth level too); or
        any ids (another user's, in the trash, missing, None)."""
        if how == "anywhere" or not self.live_ids():
            task_id = data.draw(st.sampled_from(self.task_ids()))
            changes = {}
            if data.draw(st.booleans()):
                changes["list_id"] = data.draw(st.none() | st.sampled_from(self.list_ids()))
            if not changes or data.draw(st.booleans()):
                changes["parent_id"] = data.draw(st.none() | st.sampled_from(self.task_ids()))
            self.update_place(self.caller(data, self.tasks.get(task_id)), task_id, changes)
            return
        task_id = data.draw(st.sampled_from(self.often_trashed_below()))
        user = self.tasks[task_id]["user"]
        if how == "to a list":
            self.update_place(user, task_id, {"list_id": data.draw(st.sampled_from(self.list_ids_of(user)))})
            return
        under = self.below(task_id)
        ours = self.often_deep(self.live_ids(user))
        parent_id = data.draw(st.sampled_from(under) if under and data.draw(st.booleans()) else st.sampled_from(ours))
        self.update_place(user, task_id, {"parent_id": parent_id})

    @rule(data=st.data(), side=SIDES, own=st.booleans())
    def move(self, data, side, own):
        """task_move next to another of the owner's live tasks (a sibling, another level, its own subtree: a
        cycle), or with any ids."""
        if own and self.live_ids():
            task_id = data.draw(st.sampled_from(self.often_trashed_below()))
            user = self.tasks[task_id]["user"]
            self.move_next_to(user, task_id, side, data.draw(st.sampled_from(self.often_deep(self.live_ids(user)))))
            return
        task_id = data.draw(st.sampled_from(self.task_ids()))
        anchors = [anchor for anchor in self.task_ids() if anchor != task_id]
        anchor_id = data.draw(st.sampled_from([*anchors, task_id]))
        self.move_next_to(self.caller(data, self.tasks.get(task_id)), task_id, side, anchor_id)

    @rule(data=st.data(), completed=st.none() | st.booleans())
    def complete(self, data, completed):
        """Complete, reopen or toggle (None) a task."""
        task_id = data.draw(st.sampled_from([*self.live_ids(), *self.task_ids()]))
        self.set_completed(self.caller(data, self.tasks.get(task_id)), task_id, completed)

    @rule(data=st.data())
    def delete(self, data):
        """Mostly a live subtask on its own (to restore after its parent moved, perhaps), else any id."""
        subtasks = [task_id for task_id in self.live_ids() if self.tasks[task_id]["parent"] is not None]
        task_id = data.draw(st.sampled_from([*subtasks, *self.live_ids(), *self.task_ids()]))
        self.delete_task(self.caller(data, self.tasks.get(task_id)), task_id)

    @precondition(lambda self: any(task["deleted"] is not None for task in self.tasks.values()))
    @rule(data=st.data())
    def restore(self, data):
        """Mostly a task trashed on its own under a live parent (which may have moved since), else any id."""
        trashed = sorted(t for t, task in self.tasks.items() if task["deleted"] is not None)
        alone = [t for t in trashed if self.live(self.tasks[t]["parent"], self.tasks[t]["user"])]
        task_id = data.draw(st.sampled_from([*alone, *trashed, *self.task_ids()]))
        self.restore_task(self.caller(data, self.tasks.get(task_id)), task_id)

    @precondition(lambda self: len({task["user"] for task in self.tasks.values()}) > 1)
    @rule(data=st.data(), how=st.sampled_from(FOREIGN), side=SIDES)
    def foreign_ids(self, data, how, side):
        """One user names another user's task or list: not found, or no such task or list, as for a missing id."""
        parents = [task["parent"] for task in self.tasks.values() if task["deleted"] is None]
        theirs = data.draw(
            st.sampled_from([*sorted(set(parents) - {None}), *sorted(self.tasks)])
        )  # with a subtree, often
        user = data.draw(st.sampled_from([u for u in USERS if u != self.tasks[theirs]["user"]]))
        their_list = data.draw(st.sampled_from(sorted(i for i, t in self.lists.items() if t["user"] != user)))
        mine = data.draw(st.sampled_from(self.task_ids()))  # mostly another user's or missing, now and then mine
        ours = self.often_deep(self.live_ids(user))
        if ours and data.draw(st.booleans()):
            mine = data.draw(st.sampled_from(ours))
        my_list = data.draw(st.sampled_from([*self.list_ids_of(user), MISSING]))
        operations: dict[str, Callable[[], None]] = {
            "their task under my task": lambda: self.update_place(user, theirs, {"parent_id": mine}),
            "their task to my list": lambda: self.update_place(user, theirs, {"list_id": my_list}),
            "my task under theirs": lambda: self.update_place(user, mine, {"parent_id": theirs}),
            "my task to their list": lambda: self.update_place(user, mine, {"list_id": their_list}),
            "their task next to mine": lambda: self.move_next_to(user, theirs, side, mine),
            "mine next to theirs": lambda: self.move_next_to(user, mine, side, theirs),
            "a task under theirs": lambda: self.create_task(user, None, theirs),
            "a task in their list": lambda: self.create_task(user, their_list, None),
            "complete theirs": lambda: self.set_completed(user, theirs, True),
            "delete theirs": lambda: self.delete_task(user, theirs),
            "restore theirs": lambda: self.restore_task(user, theirs),
            "rename their list": lambda: self.rename_list(user, their_list, "Mine"),
            "delete their list": lambda: self.delete_list(user, their_list, None),
            "delete mine moving to theirs": lambda: self.delete_list(user, my_list, their_list),
            "restore their list": lambda: self.restore_list(user, their_list),
        }
        operations[how]()

    # What must hold after every step ---------------------------------------------------------------

    @invariant()
    def the_tree_rules_hold_in_the_database(self):
        rows = {row["id"]: row for row in Task.objects.values("id", "user_id", "list_id", "parent_id", "deleted_at")}
        trashed_lists = set(TaskList.objects.exclude(deleted_at=None).values_list("id", flat=True))
        owners = dict(TaskList.objects.values_list("id", "user_id"))
        for row in rows.values():
            if row["deleted_at"] is not None:
                continue
            assert row["list_id"] not in trashed_lists  # a list in the trash has no live tasks
            assert row["list_id"] is None or owners[row["list_id"]] == row["user_id"]
            depth, up = 1, row
            while up["parent_id"] is not None:
                parent = rows[up["parent_id"]]
                assert parent["deleted_at"] is None, (up, parent)  # a live task's parent is live, ...
                assert (parent["user_id"], parent["list_id"]) == (up["user_id"], up["list_id"]), (up, parent)
                depth, up = depth + 1, parent
                assert depth <= MAX_DEPTH, row  # ... at most three levels up: no cycle either

    @invariant()
    def every_user_sees_exactly_their_tasks_and_lists(self):
        for user in USERS:
            listed = {task.id: task for task in selectors.task_list(user_id=user)}
            mine = {task_id: task for task_id, task in self.tasks.items() if self.live(task_id, user)}
            assert set(listed) == set(mine)
            for task_id, task in listed.items():
                want = mine[task_id]
                assert (task.list_id, task.parent_id, task.completed) == (want["list"], want["parent"],
                                                                          want["completed"]), task_id  # fmt: skip
            counted = {row.id: (row.name, row.open_count) for row in selectors.list_all(user_id=user)}
            assert counted == {
                list_id: (task_list["name"], self.open_count(user, self.stored(list_id)))
                for list_id, task_list in self.lists.items()
                if self.live_list(list_id, user)
            }

    def open_count(self, user: str, list_id: int | None) -> int:
        return sum(1 for t, task in self.tasks.items() if self.live(t, user) and task["list"] == list_id
                   and not task["completed"])  # fmt: skip

    @invariant()
    def the_trash_matches_the_model(self):
        """The trashed tasks' places, and which of them went to the trash together (one deleted_at)."""
        rows = Task.objects.exclude(deleted_at=None).values_list("id", "list_id", "parent_id", "deleted_at")
        trashed = {task_id: task for task_id, task in self.tasks.items() if task["deleted"] is not None}
        assert {row[0] for row in rows} == set(trashed)
        when: dict[object, object] = {}
        for task_id, list_id, parent_id, deleted_at in rows:
            assert (list_id, parent_id) == (trashed[task_id]["list"], trashed[task_id]["parent"])
            assert when.setdefault(trashed[task_id]["deleted"], deleted_at) == deleted_at
        assert len(set(when.values())) == len(when)


@pytest.mark.django_db
def test_any_sequence_of_list_and_subtask_operations_keeps_the_model():
    run_state_machine_as_test(
        ListsAndSubtasks,
        settings=settings(
            max_examples=20, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
