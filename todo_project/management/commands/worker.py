import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from events import relay
from events.brokers import NatsPublisher
from events.sequencer import sequence_round
from webhooks import delivery
from webhooks.worker import TaskThreads, run_ready

MAINTAIN_EVERY_SECONDS = 60  # attempts stranded by a dead worker enqueued again
PRUNE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = (
        "The background worker: number the outbox's events (and make their webhook deliveries), relay them "
        "to NATS JetStream (EVENTS_URL), run the task queue (webhook attempts) in WEBHOOK_DELIVERY_THREADS "
        "threads, prune what is old. Stops on SIGINT or SIGTERM after the work under way."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do all that is due now, prune, and stop.")

    def handle(self, *args, once: bool, **options):
        stopping: list[bool] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.append(True))
        if not settings.EVENTS_URL:
            self.stdout.write("EVENTS_URL is not set: events are numbered and stay in the outbox (nothing to relay).")
        else:
            self.stdout.write(f"Relaying events to {settings.EVENTS_STREAM} at {_host(settings.EVENTS_URL)}.")
        if once:
            numbered = 0
            while count := sequence_round():
                numbered += count
            published = self.relay_all() if settings.EVENTS_URL else 0
            run_ready()
            pruned = relay.prune() + delivery.prune()
            self.stdout.write(
                f"Numbered {numbered}, published {published} event(s); ran the due tasks; pruned {pruned}."
            )
            return
        tasks = TaskThreads(settings.WEBHOOK_DELIVERY_THREADS, interval=settings.EVENTS_POLL_SECONDS)
        tasks.start()
        self.stdout.write(f"Running the task queue in {settings.WEBHOOK_DELIVERY_THREADS} thread(s).")
        pruned_at = float("-inf")
        try:
            while not stopping:  # a minute at a time: upkeep, then number and relay (or wait) until the next
                if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                    pruned_at = time.monotonic()
                    if count := relay.prune() + delivery.prune():
                        self.stdout.write(f"Pruned {count} old event(s) and deliveries.")
                if count := delivery.recover():
                    self.stdout.write(f"Enqueued {count} webhook attempt(s) again (their worker had stopped).")
                until = time.monotonic() + MAINTAIN_EVERY_SECONDS

                def stop(until: float = until) -> bool:
                    return bool(stopping) or time.monotonic() >= until

                relay.run(publisher if settings.EVENTS_URL else None, poll=settings.EVENTS_POLL_SECONDS, stop=stop)
        finally:
            tasks.stop()
        self.stdout.write("Stopped.")

    def relay_all(self) -> int:
        """Rounds until nothing is pending, with progress."""
        broker, published = publisher(), 0
        try:
            while count := relay.relay_round(broker):
                published += count
                self.stdout.write(f"  {published} published, {relay.backlog()['pending']} pending")
        finally:
            broker.close()
        return published


def publisher() -> NatsPublisher:
    return NatsPublisher(settings.EVENTS_URL, stream=settings.EVENTS_STREAM, prefix=settings.EVENTS_SUBJECT_PREFIX)


def _host(url: str) -> str:
    """The URL without its credentials, if it has any."""
    scheme, _, rest = url.rpartition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if scheme else rest.rpartition("@")[2]
