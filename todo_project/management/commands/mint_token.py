from django.core.management.base import BaseCommand, CommandError

from todo_project.auth import mint_token


class Command(BaseCommand):
    help = "Print an HS256 token for USER_ID signed with BETTER_AUTH_SECRET (for curl and local frontends)."

    def add_arguments(self, parser):
        parser.add_argument("user_id", help="The Better Auth user id (the token's sub).")
        parser.add_argument("--ttl", type=int, default=3600, help="Lifetime in seconds (default 3600).")

    def handle(self, *args, user_id: str, ttl: int, **options):
        if ttl < 1:
            raise CommandError("--ttl must be a positive number of seconds.")
        if not user_id.strip():
            raise CommandError("USER_ID must not be blank.")
        self.stdout.write(mint_token(user_id, ttl=ttl))
