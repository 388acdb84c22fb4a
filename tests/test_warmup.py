"""The worker warm-up (todo_project/warmup.py, run by gunicorn's post_worker_init)."""

import logging

import pytest
from django.db import connection

from tasks.models import Task
from todo_project.warmup import warm_worker


@pytest.mark.django_db(transaction=True)
def test_warm_up_runs_the_hot_statements_on_every_thread_and_writes_nothing(task_factory, caplog):
    task = task_factory(title="Untouched")
    caplog.set_level(logging.INFO, logger="todo_project.warmup")

    warm_worker(threads=3)

    assert [record.message.split(" in ")[0] for record in caplog.records] == ["Worker warmed up"]
    assert list(Task.objects.values_list("title", "completed", "updated_at")) == [
        (task.title, task.completed, task.updated_at)
    ]


@pytest.mark.django_db(transaction=True)
def test_warm_up_that_fails_is_logged_and_the_worker_starts_anyway(monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    monkeypatch.setattr("todo_project.warmup.selectors.task_list_all", unreachable)

    warm_worker(threads=2)

    assert [record.message for record in caplog.records if record.levelno == logging.WARNING] == [
        "Worker warm-up incomplete"
    ]
