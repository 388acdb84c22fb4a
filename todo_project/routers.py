from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes that answer with or without a trailing slash (`/tasks` and `/tasks/`)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
