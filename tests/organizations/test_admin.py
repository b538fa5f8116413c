"""The admin for organizations, workspaces and memberships, as a superuser uses it."""

from typing import Any

import pytest
from django.urls import reverse

from organizations.models import Membership, Organization, Role, Workspace
from tests.factories import DataSourceFactory, MembershipFactory, OrganizationFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def changelist(model: str) -> str:
    return reverse(f"admin:organizations_{model}_changelist")


def results(response: Any) -> list[Any]:
    assert response.status_code == 200, response.content[:500]
    return list(response.context["cl"].result_list)


def form_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors


# --- Organization ----------------------------------------------------------------------------------


def test_organization_changelist_renders_with_data_source_counts(admin_client):
    busy = OrganizationFactory.create(name="Busy Org")
    idle = OrganizationFactory.create(name="Idle Org")
    workspace = WorkspaceFactory.create(organization=busy)
    DataSourceFactory.create_batch(3, workspace=workspace)

    rows = {row.pk: row for row in results(admin_client.get(changelist("organization")))}

    assert rows[busy.pk].data_source_count == 3
    assert rows[idle.pk].data_source_count == 0


def test_organization_search_matches_name_and_slug(admin_client):
    acme = OrganizationFactory.create(name="Acme Corp", slug="acme")
    globex = OrganizationFactory.create(name="Globex", slug="globex-analytics")

    assert results(admin_client.get(changelist("organization"), {"q": "acme"})) == [acme]
    assert results(admin_client.get(changelist("organization"), {"q": "analytics"})) == [globex]


def test_organization_changelist_sorts_by_data_source_count(admin_client):
    busy = OrganizationFactory.create()
    idle = OrganizationFactory.create()
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=busy))
    column = ["name", "slug", "data_source_count", "created_at"].index("data_source_count") + 1

    rows = results(admin_client.get(changelist("organization"), {"o": f"-{column}"}))

    assert rows.index(busy) < rows.index(idle)


def test_organization_add_form_renders(admin_client):
    response = admin_client.get(reverse("admin:organizations_organization_add"))

    assert response.status_code == 200


def test_organization_change_form_renders_with_its_workspaces_and_members(admin_client):
    organization = OrganizationFactory.create()
    WorkspaceFactory.create(organization=organization, name="Inline workspace")
    MembershipFactory.create(organization=organization, user__username="inline-member")

    response = admin_client.get(reverse("admin:organizations_organization_change", args=[organization.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Inline workspace" in html
    assert "inline-member" in html


def test_organization_add_creates_it(admin_client):
    response = admin_client.post(
        reverse("admin:organizations_organization_add"),
        {
            "name": "Initech",
            "slug": "initech",
            "workspaces-TOTAL_FORMS": "0",
            "workspaces-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert Organization.objects.filter(slug="initech", name="Initech").exists()


def test_organization_timestamps_are_read_only(admin_client):
    organization = OrganizationFactory.create()

    html = admin_client.get(reverse("admin:organizations_organization_change", args=[organization.pk])).content.decode()

    assert 'name="created_at"' not in html
    assert 'name="updated_at"' not in html


# --- Workspace ---------------------------------------------------------------------------------------


def test_workspace_changelist_renders(admin_client):
    workspace = WorkspaceFactory.create()

    assert workspace in results(admin_client.get(changelist("workspace")))


def test_workspace_changelist_filters_by_organization(admin_client):
    mine = WorkspaceFactory.create()
    WorkspaceFactory.create()

    rows = results(admin_client.get(changelist("workspace"), {"organization__id__exact": mine.organization_id}))

    assert rows == [mine]


def test_workspace_search_matches_its_name_and_its_organization(admin_client):
    finance = WorkspaceFactory.create(name="Finance")
    other = WorkspaceFactory.create(name="Engineering", organization=OrganizationFactory.create(name="Umbrella"))

    assert results(admin_client.get(changelist("workspace"), {"q": "finan"})) == [finance]
    assert results(admin_client.get(changelist("workspace"), {"q": "umbrella"})) == [other]


def test_workspace_add_and_change_forms_render(admin_client):
    workspace = WorkspaceFactory.create()

    assert admin_client.get(reverse("admin:organizations_workspace_add")).status_code == 200
    assert admin_client.get(reverse("admin:organizations_workspace_change", args=[workspace.pk])).status_code == 200


def test_workspace_add_creates_it(admin_client):
    organization = OrganizationFactory.create()

    response = admin_client.post(
        reverse("admin:organizations_workspace_add"), {"organization": organization.pk, "name": "Ops", "_save": "Save"}
    )

    assert response.status_code == 302
    assert Workspace.objects.filter(organization=organization, name="Ops").exists()


def test_workspace_duplicate_name_in_the_organization_is_a_form_error(admin_client):
    existing = WorkspaceFactory.create(name="Ops")

    response = admin_client.post(
        reverse("admin:organizations_workspace_add"),
        {"organization": existing.organization_id, "name": "Ops", "_save": "Save"},
    )

    assert form_errors(response)
    assert Workspace.objects.filter(name="Ops").count() == 1


def test_workspace_organization_cannot_be_changed(admin_client):
    workspace = WorkspaceFactory.create(name="Stays")
    DataSourceFactory.create(workspace=workspace)
    elsewhere = OrganizationFactory.create()
    url = reverse("admin:organizations_workspace_change", args=[workspace.pk])

    html = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"organization": elsewhere.pk, "name": "Renamed", "_save": "Save"})

    assert 'name="organization"' not in html
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.name == "Renamed"
    assert workspace.organization_id != elsewhere.pk


# --- Membership ------------------------------------------------------------------------------------------


def test_membership_changelist_renders(admin_client):
    membership = MembershipFactory.create()

    assert membership in results(admin_client.get(changelist("membership")))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_membership_changelist_filters_by_role(admin_client, role):
    memberships = {each: MembershipFactory.create(role=each) for each in Role}

    rows = results(admin_client.get(changelist("membership"), {"role__exact": role}))

    assert rows == [memberships[role]]


def test_membership_changelist_filters_by_organization(admin_client):
    mine = MembershipFactory.create()
    MembershipFactory.create()

    rows = results(admin_client.get(changelist("membership"), {"organization__id__exact": mine.organization_id}))

    assert rows == [mine]


def test_membership_search_matches_username_email_and_organization(admin_client):
    alice = MembershipFactory.create(user__username="alice", user__email="alice@acme.test")
    bob = MembershipFactory.create(user__username="bob", organization=OrganizationFactory.create(name="Bobcorp"))

    assert results(admin_client.get(changelist("membership"), {"q": "alice"})) == [alice]
    assert results(admin_client.get(changelist("membership"), {"q": "acme.test"})) == [alice]
    assert results(admin_client.get(changelist("membership"), {"q": "bobcorp"})) == [bob]


def test_membership_add_and_change_forms_render(admin_client):
    membership = MembershipFactory.create()

    assert admin_client.get(reverse("admin:organizations_membership_add")).status_code == 200
    assert admin_client.get(reverse("admin:organizations_membership_change", args=[membership.pk])).status_code == 200


def test_membership_add_creates_it(admin_client):
    user = UserFactory.create()
    organization = OrganizationFactory.create()

    response = admin_client.post(
        reverse("admin:organizations_membership_add"),
        {"user": user.pk, "organization": organization.pk, "role": Role.EDITOR, "_save": "Save"},
    )

    assert response.status_code == 302
    assert Membership.objects.get(user=user, organization=organization).role == Role.EDITOR


def test_duplicate_membership_is_a_form_error(admin_client):
    existing = MembershipFactory.create(role=Role.VIEWER)

    response = admin_client.post(
        reverse("admin:organizations_membership_add"),
        {"user": existing.user_id, "organization": existing.organization_id, "role": Role.ADMIN, "_save": "Save"},
    )

    errors = form_errors(response)
    assert "This user is already a member of this organization." in str(errors)
    assert Membership.objects.filter(user=existing.user).count() == 1


def test_membership_with_an_unknown_role_is_a_form_error(admin_client):
    user = UserFactory.create()
    organization = OrganizationFactory.create()

    response = admin_client.post(
        reverse("admin:organizations_membership_add"),
        {"user": user.pk, "organization": organization.pk, "role": "owner", "_save": "Save"},
    )

    assert "role" in form_errors(response)
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.parametrize("model", ["organization", "workspace", "membership"])
def test_non_staff_users_cannot_open_the_admin(client, model):
    user = UserFactory.create()
    client.force_login(user)

    response = client.get(changelist(model))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
