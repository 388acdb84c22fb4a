import json

from django.core.management.base import BaseCommand

from events import relay


class Command(BaseCommand):
    help = "The outbox's backlog: unpublished events and the oldest one's age (as in /health/ready)."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(relay.backlog()))
