from django.apps import AppConfig


class RiverGenConfig(AppConfig):
    """The project package as an app: its migration (the throttle table), its signal receivers."""

    name = "rivergen"
    verbose_name = "RiverGen"

    def ready(self) -> None:
        # Connects the receiver that keeps refresh tokens out of the database.
        from rivergen.api import authentication  # noqa: F401
