import contextlib

import anyio
from django.core.management.base import BaseCommand, CommandError

from mcp_server.server import build_server
from todo_project.auth import MAX_USER_ID_LENGTH


class Command(BaseCommand):
    help = (
        "Serve the task tools over MCP's stdio transport as USER_ID (for a desktop assistant to launch). "
        "stdout is the protocol channel: logs go to stderr."
    )
    # The checks import every view (the chat agent's SDKs among them): seconds a desktop assistant waits for.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The Better Auth user id whose tasks the tools work on.")

    def handle(self, *args, user: str, **options):
        if not user.strip():
            raise CommandError("--user must not be blank.")
        if len(user) > MAX_USER_ID_LENGTH:
            raise CommandError(f"--user has at most {MAX_USER_ID_LENGTH} characters.")
        with contextlib.suppress(KeyboardInterrupt):  # the assistant stopping us is no error
            anyio.run(build_server(user).run_stdio_async)
