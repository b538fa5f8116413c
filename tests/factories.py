"""factory_boy factories shared by every test module.

Each factory is generic in its model, so `XFactory.create(...)` is typed as the model. Call
`.create()` (or `.build()`) rather than `XFactory(...)`: factory_boy's metaclass makes the call
equivalent to `.create()`, but type checkers see it as an instance of the factory class.
"""

import factory
from django.contrib.auth.models import User

from datasources.models import DataSource, DataSourceType
from organizations.models import Membership, Organization, Role, Workspace

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    # Hashed with make_password() before the row is written, like User.set_password().
    password = factory.django.Password(TEST_PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    class Meta:
        model = Workspace

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADMIN


class DataSourceFactory(factory.django.DjangoModelFactory[DataSource]):
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
