"""factory_boy factories shared by every test module."""

import factory
from django.contrib.auth import get_user_model

from datasources.models import DataSource, DataSourceType
from organizations.models import Membership, Organization, Role, Workspace

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADMIN


class DataSourceFactory(factory.django.DjangoModelFactory):
    """A valid PostgreSQL data source; pass `workspace=` to place it (its org follows)."""

    class Meta:
        model = DataSource

    workspace = factory.SubFactory(WorkspaceFactory)
    organization = factory.SelfAttribute("workspace.organization")
    name = factory.Sequence(lambda n: f"Data source {n}")
    type = DataSourceType.POSTGRESQL
    description = factory.LazyAttribute(lambda ds: f"Description of {ds.name}")
    host = "db.example.com"
    port = 5432
    database_name = "analytics"
    tags = factory.LazyFunction(list)
