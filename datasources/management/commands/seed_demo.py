"""Demo data for `make run`: safe to run again, it only adds what is missing."""

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from datasources import services
from datasources.models import FILE_PATH_TYPES, DataSource, DataSourceStatus, DataSourceType
from organizations.models import Membership, Organization, Role, Workspace

DEMO_PASSWORD = "rivergen-demo"
DEMO_USERS = [
    # username, role in the demo organization, role in the second organization
    ("demo_admin", Role.ADMIN, None),
    ("demo_editor", Role.EDITOR, Role.VIEWER),
    ("demo_viewer", Role.VIEWER, None),
]
SUPERUSER = "operator"
WORKSPACES = ["Analytics", "Engineering", "Finance", "Marketing"]
TOPICS = ["Sales", "Orders", "Customers", "Inventory", "Billing", "Events", "Payroll", "Support", "Web", "Ledger"]
TAGS = ["production", "staging", "database", "warehouse", "finance", "pii", "daily", "archive", "marketing", "ops"]


class Command(BaseCommand):
    help = "Create the demo organization, users and ~60 data sources (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        demo, _ = Organization.objects.get_or_create(slug="demo", defaults={"name": "Demo Organization"})
        other, _ = Organization.objects.get_or_create(slug="globex", defaults={"name": "Globex Analytics"})
        users = {}
        for username, demo_role, other_role in DEMO_USERS:
            users[username] = user = self._user(username)
            Membership.objects.get_or_create(user=user, organization=demo, defaults={"role": demo_role})
            if other_role:
                Membership.objects.get_or_create(user=user, organization=other, defaults={"role": other_role})
        operator = self._user(SUPERUSER, superuser=True)
        Membership.objects.get_or_create(user=operator, organization=demo, defaults={"role": Role.ADMIN})

        created = self._data_sources(demo, count=60, seed=42) + self._data_sources(other, count=6, seed=7)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} data sources added)."))
        self.stdout.write(f"  API users (password '{DEMO_PASSWORD}'): " + ", ".join(users))
        self.stdout.write(f"  Admin superuser: {SUPERUSER} / {DEMO_PASSWORD}  ->  /admin/")

    def _user(self, username: str, superuser: bool = False) -> Any:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": superuser, "is_superuser": superuser}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _data_sources(self, organization: Organization, count: int, seed: int) -> int:
        rng = random.Random(seed)
        workspaces = [Workspace.objects.get_or_create(organization=organization, name=name)[0] for name in WORKSPACES]
        types = list(DataSourceType)
        statuses = list(DataSourceStatus)
        now = timezone.now().replace(microsecond=0)
        created = 0
        for index in range(count):
            source_type = types[index % len(types)]
            # Draw every random value before deciding to skip, so reruns see the same sequence.
            name = f"{rng.choice(TOPICS)} {source_type.label} {index + 1:02d}"
            tags = rng.sample(TAGS, rng.randint(0, 4))
            hours_ago = rng.randint(1, 240)
            if DataSource.objects.filter(organization=organization, name__iexact=name).exists():
                continue
            datasource = services.datasource_create(
                organization=organization,
                workspace=workspaces[index % len(workspaces)],
                name=name,
                type=source_type,
                description=f"{source_type.label} source for {name.split()[0].lower()} data",
                tags=tags,
                username="reader",
                password=f"demo-secret-{index}",
                **self._connection(source_type, index),
            )
            status = statuses[index % len(statuses)]
            tested_at = None if status == DataSourceStatus.INACTIVE else now - timedelta(hours=hours_ago)
            DataSource.objects.filter(pk=datasource.pk).update(
                status=status,
                last_tested_at=tested_at,
                last_successful_connection_at=tested_at if status == DataSourceStatus.ACTIVE else None,
                schema_discovered_at=tested_at - timedelta(hours=1) if tested_at else None,
            )
            created += 1
        return created

    @staticmethod
    def _connection(source_type: DataSourceType, index: int) -> dict[str, Any]:
        if source_type in FILE_PATH_TYPES:
            extension = "db" if source_type == DataSourceType.SQLITE else source_type.value
            return {"file_path": f"/data/demo/source_{index + 1:02d}.{extension}"}
        if source_type == DataSourceType.BIGQUERY:
            return {"database_name": f"demo-project-{index + 1:02d}"}
        return {
            "host": f"{source_type.value}-{index + 1:02d}.db.example.com",
            "database_name": "analytics",
            "schema_name": "public" if source_type == DataSourceType.POSTGRESQL else None,
            "use_ssh_tunnel": index % 7 == 0,
            "ssh_host": "bastion.example.com" if index % 7 == 0 else None,
        }
