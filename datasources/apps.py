from django.apps import AppConfig


class DatasourcesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "datasources"
    verbose_name = "Data sources"

    def ready(self) -> None:
        # Production configuration checks (`manage.py check --deploy`).
        from rivergen import checks  # noqa: F401
