"""`manage.py seed_demo`: the demo organization, users and data sources, safe to run again."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from datasources.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS, SUPERUSER
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from organizations.models import Membership, Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, assert_success

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "workspaces": Workspace.objects.count(),
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
        "data_sources": DataSource.objects.count(),
    }


@pytest.fixture
def demo() -> Organization:
    seed()
    return Organization.objects.get(slug="demo")


def test_seeding_twice_changes_nothing_the_second_time():
    first_output = seed()
    first = counts()
    snapshot = sorted(DataSource.objects.values_list("organization_id", "name", "type", "status"))

    second_output = seed()

    assert counts() == first
    assert sorted(DataSource.objects.values_list("organization_id", "name", "type", "status")) == snapshot
    assert "(66 data sources added)" in first_output
    assert "(0 data sources added)" in second_output


def test_seeding_restores_deleted_data_sources_only():
    seed()
    removed = DataSource.objects.filter(organization__slug="demo").earliest("id")
    removed_name = removed.name
    removed.delete()

    output = seed()

    assert "(1 data sources added)" in output
    assert DataSource.objects.filter(organization__slug="demo", name=removed_name).count() == 1
    assert DataSource.objects.filter(organization__slug="demo").count() == 60


def test_demo_organization_has_sixty_sources_of_every_type_and_status(demo):
    sources = DataSource.objects.filter(organization=demo)

    assert sources.count() == 60
    assert set(sources.values_list("type", flat=True)) == set(DataSourceType.values)
    assert set(sources.values_list("status", flat=True)) == set(DataSourceStatus.values)
    assert sources.values("name").distinct().count() == 60


def test_demo_data_sources_are_valid_and_spread_over_workspaces(demo):
    sources = list(DataSource.objects.filter(organization=demo).select_related("workspace"))

    for source in sources:
        source.full_clean()  # every seeded row passes the model's own rules
        assert source.workspace.organization_id == demo.id
    assert len({source.workspace_id for source in sources}) == Workspace.objects.filter(organization=demo).count() > 1
    assert any(source.tags for source in sources)
    assert any(source.use_ssh_tunnel for source in sources)


def test_demo_health_timestamps_follow_the_status(demo):
    sources = DataSource.objects.filter(organization=demo)

    assert not sources.filter(status=DataSourceStatus.INACTIVE, last_tested_at__isnull=False).exists()
    assert not sources.exclude(status=DataSourceStatus.INACTIVE).filter(last_tested_at__isnull=True).exists()
    assert not sources.filter(status=DataSourceStatus.ACTIVE, last_successful_connection_at__isnull=True).exists()


def test_demo_credentials_are_stored_and_never_in_clear_text(demo):
    source = DataSource.objects.filter(organization=demo).earliest("id")
    raw = DataSource.objects.filter(pk=source.pk).values_list("password", flat=True)

    assert source.password and source.password.startswith("demo-secret-")
    assert list(raw) == [source.password]  # decrypted on read ...
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT password FROM {DataSource._meta.db_table} WHERE id = %s", [source.pk])
        assert "demo-secret-" not in cursor.fetchone()[0]  # ... encrypted at rest


def test_a_second_organization_exists_with_its_own_sources(demo):
    other = Organization.objects.exclude(pk=demo.pk).get()

    assert DataSource.objects.filter(organization=other).count() == 6


@pytest.mark.parametrize(("username", "demo_role", "other_role"), DEMO_USERS)
def test_a_user_per_role_with_memberships(demo, username, demo_role, other_role):
    user = get_user_model().objects.get(username=username)

    assert user.check_password(DEMO_PASSWORD)
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert Membership.objects.get(user=user, organization=demo).role == demo_role
    other_memberships = Membership.objects.filter(user=user).exclude(organization=demo)
    if other_role is None:
        assert not other_memberships.exists()
    else:
        assert [membership.role for membership in other_memberships] == [other_role]


def test_every_role_is_represented_in_the_demo_organization(demo):
    roles = set(Membership.objects.filter(organization=demo).values_list("role", flat=True))

    assert roles == set(Role.values)


def test_a_superuser_for_the_admin(demo):
    operator = get_user_model().objects.get(username=SUPERUSER)

    assert operator.is_superuser and operator.is_staff and operator.is_active
    assert operator.check_password(DEMO_PASSWORD)


def test_demo_users_can_sign_in_and_list_the_demo_sources(demo):
    username = next(name for name, role, _other in DEMO_USERS if role == Role.VIEWER)
    client = APIClient()
    login = client.post("/api/v1/auth/token", {"username": username, "password": DEMO_PASSWORD}, format="json")
    token = assert_success(login, 200, "Token issued successfully")["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    data = assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    assert data["pagination"]["total_items"] == 60
    assert {item["organization_id"] for item in data["items"]} == {demo.id}


def test_seeding_keeps_changed_passwords():
    seed()
    user = get_user_model().objects.get(username=SUPERUSER)
    user.set_password("changed-by-the-operator")
    user.save()

    seed()

    user.refresh_from_db()
    assert user.check_password("changed-by-the-operator")
