from django.apps import AppConfig


class RiverGenConfig(AppConfig):
    """The project package as an app: its migration (the throttle table), signal receivers, checks."""

    name = "rivergen"
    verbose_name = "RiverGen"

    def ready(self) -> None:
        # Connects the receiver that keeps refresh tokens out of the database, and
        # registers the production configuration checks (`manage.py check --deploy`).
        from rivergen import checks  # noqa: F401
        from rivergen.api import authentication  # noqa: F401
