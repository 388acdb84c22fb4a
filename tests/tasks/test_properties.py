"""Property test: any sequence of task operations (create, update, tag, toggle, delete, restore) by
several users keeps ownership, timestamps, tags and counts consistent with a simple model of what should be there."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tasks import selectors, services
from tasks.exceptions import TaskNotFound
from tasks.selectors import tag_list_of

USERS = ["alice", "bob", "carol"]
titles = st.text(min_size=0, max_size=210)
descriptions = st.none() | st.text(max_size=1010)


class TaskOperations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        services.task_delete_all(user_ids=USERS)
        # task id -> {"user", "title", "description", "completed", "tags"}; deleted ones are in the trash
        self.expected: dict[int, dict] = {}
        self.deleted: dict[int, dict] = {}

    def ids(self) -> list[int]:
        return sorted(self.expected) + sorted(self.deleted)

    @rule(user=st.sampled_from(USERS), title=titles, description=descriptions)
    def create(self, user, title, description):
        valid = 1 <= len(title.strip()) <= 200 and "\x00" not in title
        valid &= description is None or (len(description.strip()) <= 1000 and "\x00" not in description)
        try:
            task = services.task_create(user_id=user, title=title, description=description)
        except ValidationError:
            assert not valid
            return
        assert valid
        assert task.created_at == task.updated_at
        self.expected[task.id] = {"user": user, "title": title.strip(), "completed": False, "tags": [],
                                  "description": description.strip() if description is not None else None}  # fmt: skip

    @precondition(lambda self: self.ids())
    @rule(data=st.data(), user=st.sampled_from(USERS), title=st.none() | titles)
    def update(self, data, user, title):
        task_id = data.draw(st.sampled_from(self.ids()))
        changes = {} if title is None else {"title": title}
        owned = task_id in self.expected and self.expected[task_id]["user"] == user
        try:
            before = selectors.task_get(user_id=user, task_id=task_id) if owned else None
            task = services.task_update(user_id=user, task_id=task_id, **changes)
        except TaskNotFound:
            assert not owned
            return
        except ValidationError:
            assert not 1 <= len(title.strip()) <= 200 or "\x00" in title
            return
        assert owned
        if changes:
            self.expected[task_id]["title"] = title.strip()
            assert task.updated_at >= before.updated_at
        assert task.created_at == before.created_at

    @precondition(lambda self: self.ids())
    @rule(data=st.data(), user=st.sampled_from(USERS))
    def toggle(self, data, user):
        task_id = data.draw(st.sampled_from(self.ids()))
        owned = task_id in self.expected and self.expected[task_id]["user"] == user
        try:
            task = services.task_toggle(user_id=user, task_id=task_id)
        except TaskNotFound:
            assert not owned
            return
        assert owned
        self.expected[task_id]["completed"] = not self.expected[task_id]["completed"]
        assert task.completed == self.expected[task_id]["completed"]

    @precondition(lambda self: self.ids())
    @rule(data=st.data(), user=st.sampled_from(USERS))
    def delete(self, data, user):
        task_id = data.draw(st.sampled_from(self.ids()))
        owned = task_id in self.expected and self.expected[task_id]["user"] == user
        try:
            services.task_delete(user_id=user, task_id=task_id)
        except TaskNotFound:
            assert not owned
            return
        assert owned
        self.deleted[task_id] = self.expected.pop(task_id)

    @precondition(lambda self: self.ids())
    @rule(data=st.data(), user=st.sampled_from(USERS))
    def restore(self, data, user):
        task_id = data.draw(st.sampled_from(self.ids()))
        trashed = task_id in self.deleted and self.deleted[task_id]["user"] == user
        try:
            task = services.task_restore(user_id=user, task_id=task_id)
        except TaskNotFound:
            assert not trashed
            return
        assert trashed
        self.expected[task_id] = self.deleted.pop(task_id)
        assert task.deleted_at is None

    @precondition(lambda self: self.ids())
    @rule(
        data=st.data(), user=st.sampled_from(USERS), tags=st.lists(st.sampled_from(["home", "Work", "x"]), max_size=3)
    )
    def retag(self, data, user, tags):
        task_id = data.draw(st.sampled_from(self.ids()))
        owned = task_id in self.expected and self.expected[task_id]["user"] == user
        try:
            task = services.task_update(user_id=user, task_id=task_id, tags=tags)
        except TaskNotFound:
            assert not owned
            return
        assert owned
        self.expected[task_id]["tags"] = sorted({tag.lower() for tag in tags})
        assert tag_list_of(task) == self.expected[task_id]["tags"]

    @invariant()
    def every_user_sees_exactly_their_tasks(self):
        for user in USERS:
            listed = {task.id: task for task in selectors.task_list(user_id=user)}
            mine = {task_id for task_id, task in self.expected.items() if task["user"] == user}
            assert set(listed) == mine
            for task_id, task in listed.items():
                want = self.expected[task_id]
                assert (task.user_id, task.title, task.description, task.completed) == (
                    user, want["title"], want["description"], want["completed"]
                )  # fmt: skip
                assert task.updated_at >= task.created_at
                assert tag_list_of(task) == want["tags"]
            counts = {tag.name: tag.task_count for tag in selectors.tag_list(user_id=user) if tag.task_count}
            want_counts = Counter(
                tag for task in self.expected.values() if task["user"] == user for tag in task["tags"]
            )
            assert counts == dict(want_counts)


@pytest.mark.django_db
def test_any_sequence_of_operations_keeps_the_model():
    run_state_machine_as_test(
        TaskOperations,
        settings=settings(
            max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
