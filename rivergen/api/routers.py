from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes that answer with and without a trailing slash, never redirecting."""

    def __init__(self) -> None:
        super().__init__(use_regex_path=True)
        self.trailing_slash = "/?"
