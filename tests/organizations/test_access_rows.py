"""Membership rows remembered per database session until PostgreSQL notifies a change.

These tests commit (transaction=True), as production does: notifications are sent at
commit, and inside a transaction nothing is remembered at all. "Elsewhere" is another
session, as another worker, host or psql would be. `wait_for_notification` waits until
the notification is on this session's socket: revocation takes effect from the first
request after it arrives, a fraction of a millisecond after the commit on one host.
"""

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from datasources.models import DataSource
from organizations.models import Membership, Organization, Role, Workspace
from rivergen.api import tenancy
from rivergen.api.authentication import PASSWORD_CHANGED_MESSAGE
from tests.conftest import DATA_SOURCES_URL, MemberClient, assert_error, assert_success
from tests.factories import DataSourceFactory, MembershipFactory, OrganizationFactory, User, WorkspaceFactory

LISTEN = "LISTEN rivergen_access"
USER_INACTIVE = "User is inactive or no longer exists."
NOT_A_MEMBER = "You are not a member of any organization."
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture
def member(organization: Organization, workspace: Workspace) -> MemberClient:
    DataSourceFactory.create(workspace=workspace)
    connection.close()  # a new session for each test: it LISTENs on its first request
    return MemberClient(MembershipFactory.create(role=Role.ADMIN, organization=organization).user)


def list_statements(client: MemberClient) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    return [query["sql"] for query in queries.captured_queries]


def membership_statements(statements: list[str]) -> list[str]:
    return [sql for sql in statements if '"organizations_membership"' in sql]


@contextmanager
def elsewhere() -> Iterator[psycopg.Connection[Any]]:
    """Another session on the same database, committing each statement."""
    params = connection.get_connection_params()
    conninfo = {name: params[name] for name in ("dbname", "user", "password", "host", "port") if params.get(name)}
    with psycopg.connect(**conninfo, autocommit=True) as other:
        yield other


def set_triggers(state: str) -> None:
    """ENABLE ALWAYS, DISABLE or ENABLE REPLICA the membership table's trigger, elsewhere."""
    with elsewhere() as other:
        other.execute(f"ALTER TABLE organizations_membership {state} TRIGGER rivergen_access_changed")


def lower_role_unnotified(user: User) -> None:
    """Make `user` a viewer elsewhere, with the trigger off for that one transaction."""
    with elsewhere() as other, other.transaction():
        other.execute("ALTER TABLE organizations_membership DISABLE TRIGGER rivergen_access_changed")
        other.execute("UPDATE organizations_membership SET role = 'viewer' WHERE user_id = %s", [user.pk])
        other.execute("ALTER TABLE organizations_membership ENABLE ALWAYS TRIGGER rivergen_access_changed")


def wait_for_notification() -> None:
    readable, _, _ = select.select([connection.connection.fileno()], [], [], 5)
    assert readable, "no notification arrived within 5 s"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_repeat_request_makes_no_membership_statement(member: MemberClient) -> None:
    first, second, third = (list_statements(member) for _ in range(3))

    assert first[0] == LISTEN and "pg_trigger" in first[1]  # a new session: it listens, and checks the triggers
    assert len(membership_statements(first)) == 1
    assert second == third == first[3:]  # the page alone (a short first page needs no count)
    assert membership_statements(second) == []


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("write", "status", "code", "message"),
    [
        ("UPDATE auth_user SET is_active = false WHERE id = %s", 401, "UNAUTHORIZED", USER_INACTIVE),
        (
            "UPDATE auth_user SET password = 'md5$changed$0' WHERE id = %s",
            401,
            "UNAUTHORIZED",
            PASSWORD_CHANGED_MESSAGE,
        ),
        ("DELETE FROM organizations_membership WHERE user_id = %s", 403, "FORBIDDEN", NOT_A_MEMBER),
    ],
    ids=["user deactivated", "password changed", "membership removed"],
)
def test_a_change_made_elsewhere_is_refused_from_the_next_request(
    member: MemberClient, write: str, status: int, code: str, message: str
) -> None:
    list_statements(member)
    with elsewhere() as other:
        other.execute(write, [member.user.pk])
    wait_for_notification()

    response = member.get(DATA_SOURCES_URL)
    assert_error(response, status, code)
    assert response.json()["message"] == message


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("writer_role", ["origin", "replica"])
def test_a_role_lowered_elsewhere_applies_to_the_next_write(
    member: MemberClient, workspace: Workspace, writer_role: str
) -> None:
    """A replica applying changes (logical replication) notifies too: the triggers are enabled ALWAYS."""
    source = DataSource.objects.get(workspace=workspace)
    list_statements(member)
    with elsewhere() as other:
        other.execute(f"SET session_replication_role = {writer_role}")
        other.execute("UPDATE organizations_membership SET role = 'viewer' WHERE user_id = %s", [member.user.pk])
    wait_for_notification()

    assert_error(member.delete(f"{DATA_SOURCES_URL}/{source.pk}"), 403, "FORBIDDEN")
    assert DataSource.objects.filter(pk=source.pk).exists()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_bulk_update_in_this_process_is_seen_too(member: MemberClient) -> None:
    """queryset.update() sends no Django signal; the trigger fires all the same.

    A session's own notification comes back with its statement's answer: it is read then.
    """
    list_statements(member)
    User.objects.filter(pk=member.user.pk).update(is_active=False)

    assert_error(member.get(DATA_SOURCES_URL), 401, "UNAUTHORIZED")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_a_notification_the_remembered_row_is_what_answers(member: MemberClient, workspace: Workspace) -> None:
    """The control: the row really is remembered, so the notification is what revokes it."""
    source = DataSource.objects.get(workspace=workspace)
    list_statements(member)
    lower_role_unnotified(member.user)

    assert member.delete(f"{DATA_SOURCES_URL}/{source.pk}").status_code == 200  # still the admin it remembered


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_session_starts_with_nothing_remembered(member: MemberClient, workspace: Workspace) -> None:
    """Changes made while no session listened (here: unnotified) are read afresh by the next one."""
    source = DataSource.objects.get(workspace=workspace)
    list_statements(member)
    connection.close()  # CONN_MAX_AGE, a server restart, an error: the next request opens a new one
    lower_role_unnotified(member.user)

    with CaptureQueriesContext(connection) as queries:
        assert_error(member.delete(f"{DATA_SOURCES_URL}/{source.pk}"), 403, "FORBIDDEN")
    assert LISTEN in [query["sql"] for query in queries.captured_queries]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_row_read_while_a_notification_arrived_is_not_remembered(
    member: MemberClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = tenancy._MembershipQueries._row

    def read_while_notified(self: Any, user_id: int, organization_id: int | None) -> Any:
        row = read(self, user_id, organization_id)
        tenancy.ACCESS_ROWS._local.sessions[connection.alias].forget()  # as the notify handler would
        return row

    list_statements(member)  # LISTEN, on a new session
    with monkeypatch.context() as patch:
        connection.close()
        patch.setattr(tenancy._MembershipQueries, "_row", read_while_notified)
        assert len(membership_statements(list_statements(member))) == 1

    assert len(membership_statements(list_statements(member))) == 1  # read again: nothing was kept
    assert membership_statements(list_statements(member)) == []


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_nothing_is_remembered(member: MemberClient) -> None:
    with transaction.atomic():
        statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == [1, 1]
    assert all(LISTEN not in each for each in statements)


@pytest.mark.django_db(transaction=True)
def test_with_access_cache_off_every_request_reads_the_membership(member: MemberClient, settings: Any) -> None:
    settings.ACCESS_CACHE = False
    statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == [1, 1]
    assert all(LISTEN not in each for each in statements)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other databases' behaviour")
@pytest.mark.django_db(transaction=True)
def test_without_postgresql_every_request_reads_the_membership(member: MemberClient) -> None:
    statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == [1, 1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("state", ["DISABLE", "ENABLE REPLICA"])
def test_a_database_whose_triggers_do_not_always_fire_remembers_nothing(member: MemberClient, state: str) -> None:
    set_triggers(state)
    try:
        statements = [list_statements(member) for _ in range(2)]
    finally:
        connection.close()  # its session would hold a lock the ALTER below waits for
        set_triggers("ENABLE ALWAYS")

    assert [len(membership_statements(each)) for each in statements] == [1, 1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_triggers_disabled_after_the_check_are_found_at_the_next_one(
    member: MemberClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    list_statements(member)  # a trusted session
    connection_kept = connection.connection
    try:
        set_triggers("DISABLE")
        monkeypatch.setattr(tenancy.ACCESS_ROWS, "recheck", 0.0)  # the check is due
        statements = [list_statements(member) for _ in range(2)]
        assert connection.connection is connection_kept  # the same session found out
    finally:
        connection.close()
        set_triggers("ENABLE ALWAYS")

    assert [len(membership_statements(each)) for each in statements] == [1, 1]
    assert all("pg_trigger" in " ".join(each) for each in statements)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_check_forgets_what_was_remembered(member: MemberClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change made while the triggers were off is read afresh at the next check."""
    list_statements(member)
    lower_role_unnotified(member.user)
    monkeypatch.setattr(tenancy.ACCESS_ROWS, "recheck", 0.0)

    response = member.post(DATA_SOURCES_URL, {}, format="json")

    assert_error(response, 403, "FORBIDDEN")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_membership_named_by_header_is_forgotten_too(member: MemberClient, organization: Organization) -> None:
    named = str(organization.pk)
    assert_success(
        member.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=named), 200, "Data sources retrieved successfully"
    )
    with CaptureQueriesContext(connection) as queries:
        assert_success(
            member.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=named), 200, "Data sources retrieved successfully"
        )
    assert membership_statements([query["sql"] for query in queries.captured_queries]) == []  # remembered
    with elsewhere() as other:
        other.execute("DELETE FROM organizations_membership WHERE user_id = %s", [member.user.pk])
    wait_for_notification()

    assert_error(member.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=named), 403, "FORBIDDEN")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_earlier_membership_added_elsewhere_becomes_the_default_organization(member: MemberClient) -> None:
    other_organization = OrganizationFactory.create()
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="theirs")
    assert "theirs" not in [item["name"] for item in list_items(member)]
    with elsewhere() as other:
        other.execute(
            "INSERT INTO organizations_membership (role, created_at, user_id, organization_id)"
            " VALUES ('viewer', '2000-01-01', %s, %s)",
            [member.user.pk, other_organization.pk],
        )
    wait_for_notification()

    assert [item["name"] for item in list_items(member)] == ["theirs"]


def list_items(client: MemberClient) -> list[dict[str, Any]]:
    return assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")["items"]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_autocommit_nothing_is_remembered(member: MemberClient) -> None:
    connection.set_autocommit(False)
    try:
        statements = [list_statements(member) for _ in range(2)]
    finally:
        connection.rollback()
        connection.set_autocommit(True)

    assert [len(membership_statements(each)) for each in statements] == [1, 1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("max_age", "membership_reads"), [(0, [1, 1]), (None, [1, 0]), (60, [1, 0])])
def test_only_kept_connections_remember(
    member: MemberClient, monkeypatch: pytest.MonkeyPatch, max_age: int | None, membership_reads: list[int]
) -> None:
    """CONN_MAX_AGE = 0 (DEBUG's default): LISTEN and the check would cost each request two statements.

    None keeps connections for good: they remember, as with a number of seconds.
    """
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", max_age)
    statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == membership_reads


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_session_whose_pid_is_not_its_backends_remembers_nothing(
    member: MemberClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a connection pooler the backend that answers is not the one psycopg was told of."""
    monkeypatch.setattr(psycopg.ConnectionInfo, "backend_pid", property(lambda info: 0))
    statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == [1, 1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_untrusted_notification_stops_remembering(member: MemberClient) -> None:
    """What the reverse migration sends as it drops the triggers."""
    list_statements(member)
    with elsewhere() as other:
        other.execute("SELECT pg_notify('rivergen_access', 'untrusted')")
    wait_for_notification()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # reads the notification, as any statement would
    statements = [list_statements(member) for _ in range(2)]

    assert [len(membership_statements(each)) for each in statements] == [1, 1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_session_that_could_not_listen_is_not_kept(member: MemberClient, monkeypatch: pytest.MonkeyPatch) -> None:
    connection.close()
    with monkeypatch.context() as patch:
        patch.setattr(tenancy.ACCESS_ROWS, "channel", "no such channel")  # LISTEN fails: a syntax error
        with pytest.raises(DatabaseError):
            tenancy.ACCESS_ROWS.get(connection, ("any", "key"), lambda: ("a row",))
    kept = tenancy.ACCESS_ROWS._local.__dict__.get("sessions", {}).get(connection.alias)
    assert kept is None or kept.session is not connection.connection  # none for this connection

    first = list_statements(member)
    assert first[0] == LISTEN  # the next request starts the session again, and listens
    assert membership_statements(list_statements(member)) == []


@on_postgresql
@pytest.mark.django_db
def test_every_table_the_lookup_reads_notifies() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname = 'rivergen_access_changed' AND tgenabled = 'A'"
        )
        tables = sorted(row[0] for row in cursor.fetchall())

    assert tables == sorted([User._meta.db_table, Membership._meta.db_table, Organization._meta.db_table])
