import time
from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError

from tasks import selectors, services
from tasks.services import TaskDraft, lists

TITLES = [
    "Buy groceries",
    "Pay bills",
    "Call mom",
    "Book dentist appointment",
    "Renew passport",
    "Water the plants",
    "Prepare team meeting",
    "Read a chapter",
    "Go for a run",
    "Clean the kitchen",
]


class Command(BaseCommand):
    help = "Give each demo user (demo-user-1 … demo-user-N) M tasks. Idempotent: tops up, never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=3, help="How many demo users (default 3).")
        parser.add_argument("--tasks-per-user", type=int, default=5, help="Tasks each (default 5).")
        parser.add_argument("--prefix", default="demo-user-", help="User id prefix (default demo-user-).")
        parser.add_argument("--reset", action="store_true", help="Delete the demo users' tasks first.")
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per INSERT (default 5000).")
        parser.add_argument("--lists", action="store_true",
                            help="Also give each user a Work and a Home list (every third task in each) and a "
                                 "task with subtasks (make run does).")  # fmt: skip

    def handle(
        self, *args, users: int, tasks_per_user: int, prefix: str, reset: bool, batch_size: int, lists: bool,
        **options,
    ):  # fmt: skip
        if users < 1 or tasks_per_user < 0 or batch_size < 1:
            raise CommandError("--users and --batch-size must be at least 1, --tasks-per-user at least 0.")
        user_ids = [f"{prefix}{n}" for n in range(1, users + 1)]
        if reset:
            deleted = services.task_delete_all(user_ids=user_ids)
            self.stdout.write(f"Deleted {deleted} demo tasks.")
        existing = selectors.task_counts_by_user(user_ids=user_ids)
        missing = sum(max(tasks_per_user - existing.get(user_id, 0), 0) for user_id in user_ids)
        if not missing:
            self.stdout.write(f"Nothing to do: {users} demo users already have {tasks_per_user} tasks each.")
        else:
            self._create(user_ids, existing, tasks_per_user, missing, batch_size)
        if lists:
            made = sum(self._organise(user_id) for user_id in user_ids)
            self.stdout.write(f"Lists and subtasks: {made} demo users organised (the others already were).")

    def _create(self, user_ids: list[str], existing: dict[str, int], tasks_per_user: int, missing: int,
                batch_size: int) -> None:  # fmt: skip
        started, last_shown = time.monotonic(), -1

        def progress(created: int) -> None:
            nonlocal last_shown
            percent = 100 * created // missing
            if percent // 5 > last_shown // 5 or created == missing:  # every 5 %
                last_shown = percent
                rate = created / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"  {created}/{missing} tasks ({percent}%, {rate:,.0f} rows/s)")

        self.stdout.write(f"Creating {missing} tasks for {len(user_ids)} demo users…")
        drafts = self._drafts(user_ids, existing, tasks_per_user)
        created = services.task_bulk_create(drafts=drafts, batch_size=batch_size, progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Created {created} tasks in {elapsed:.1f} s; try user {user_ids[0]}."))

    @staticmethod
    def _organise(user_id: str) -> bool:
        """A Work and a Home list (every third task in each) and a trip with steps, through the services;
        False when the user has them already."""
        if any(not task_list.inbox for task_list in selectors.list_all(user_id=user_id)):
            return False
        work = lists.list_create(user_id=user_id, name="Work", color="#3b82f6", position=1)
        home = lists.list_create(user_id=user_id, name="Home", color="#22c55e", position=2)
        tasks = list(selectors.task_list(user_id=user_id, completed=False).order_by("id").values_list("id", flat=True))
        for n, task_id in enumerate(tasks):
            if n % 3:
                services.task_update(user_id=user_id, task_id=task_id, list_id=(work, home)[n % 3 - 1].id)
        trip = services.task_create(user_id=user_id, title="Plan the trip", list_id=home.id)
        flights = services.task_create(user_id=user_id, title="Book flights", parent_id=trip.id, position=1)
        services.task_create(user_id=user_id, title="Check passports", parent_id=flights.id)
        services.task_create(user_id=user_id, title="Book a hotel", parent_id=trip.id, position=2)
        return True

    @staticmethod
    def _drafts(user_ids: list[str], existing: dict[str, int], tasks_per_user: int) -> Iterator[TaskDraft]:
        for user_id in user_ids:
            for n in range(existing.get(user_id, 0), tasks_per_user):
                yield TaskDraft(
                    user_id=user_id,
                    title=f"{TITLES[n % len(TITLES)]} #{n + 1}",
                    description=f"Demo task {n + 1} of {user_id}" if n % 2 == 0 else None,
                    completed=n % 3 == 0,
                )
