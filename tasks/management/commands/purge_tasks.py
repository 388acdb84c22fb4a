from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tasks import services
from tasks.services import lists


class Command(BaseCommand):
    help = (
        "Delete for good the tasks and lists in the trash for longer than TASK_TRASH_DAYS, and expired "
        "idempotency keys."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.TASK_TRASH_DAYS,
            help="Purge tasks and lists deleted more than this many days ago (default: TASK_TRASH_DAYS).",
        )

    def handle(self, *args, days: int, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        before = timezone.now() - timedelta(days=days)
        tasks = services.task_purge(before=before)  # first: a list's tasks went to the trash with it
        task_lists = lists.list_purge(before=before)
        keys = services.idempotency_purge()
        self.stdout.write(
            f"Purged {tasks} task(s) and {task_lists} list(s) deleted over {days} day(s) ago, "
            f"{keys} expired idempotency key(s)."
        )
