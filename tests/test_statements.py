"""Compiled list statements: reused only for the same inputs, always reading current rows."""

from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import django_filters
import pytest
from django.db.models import Q, QuerySet
from django.urls import path
from rest_framework.filters import OrderingFilter

from datasources.api.views import DataSourceViewSet
from datasources.models import DataSource, DataSourceType
from organizations.models import Organization, Role, Workspace
from rivergen.api.filters import FilterSet
from rivergen.db import statements
from rivergen.db.statements import STATEMENTS, StatementCache
from tests.conftest import (
    DATA_SOURCES_URL,
    MemberClient,
    MemberClientFactory,
    assert_error,
    assert_success,
)
from tests.factories import DataSourceFactory, MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[list[str]]:
    """The statements compiled, by their SQL, with reuses not compiled again to verify them."""
    settings.STATEMENT_CACHE_VERIFY = False
    compiled: list[str] = []
    original = statements._compile

    def recording(queryset: QuerySet[Any], connection: Any) -> Any:
        statement = original(queryset, connection)
        compiled.append(statement.sql if statement else "")
        return statement

    monkeypatch.setattr(statements, "_compile", recording)
    STATEMENTS.clear()
    yield compiled
    STATEMENTS.clear()


LISTED = "Data sources retrieved successfully"


def names(response: Any) -> list[str]:
    return [item["name"] for item in assert_success(response, 200, LISTED)["items"]]


def rows(organization: Organization) -> QuerySet[DataSource, Any]:
    return DataSource.objects.filter(organization=organization).order_by("name").values("name", "tags", "created_at")


def test_the_same_list_request_compiles_once_and_still_reads_current_rows(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create(workspace=workspace, name="alpha")
    url = f"{DATA_SOURCES_URL}?sort_by=name&sort_order=asc"
    assert names(client.get(url)) == ["alpha"]
    assert len(compiles) == 1
    DataSourceFactory.create(workspace=workspace, name="beta")
    assert names(client.get(url)) == ["alpha", "beta"]
    assert len(compiles) == 1  # the same statement, run again


def test_organizations_never_share_a_statement(
    member_client: MemberClientFactory,
    organization: Organization,
    other_organization: Organization,
    compiles: list[str],
) -> None:
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization), name="ours")
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="theirs")
    ours, theirs = member_client(Role.VIEWER, organization), member_client(Role.VIEWER, other_organization)
    for _ in range(2):
        assert names(ours.get(DATA_SOURCES_URL)) == ["ours"]
        assert names(theirs.get(DATA_SOURCES_URL)) == ["theirs"]
    assert len(compiles) == 2


def test_one_user_switching_organizations_gets_each_ones_rows(
    organization: Organization, other_organization: Organization, compiles: list[str]
) -> None:
    membership = MembershipFactory.create(role=Role.VIEWER, organization=organization)
    MembershipFactory.create(role=Role.VIEWER, organization=other_organization, user=membership.user)
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization), name="ours")
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="theirs")
    client = MemberClient(membership.user)
    for _ in range(2):
        for query in ("", "?search=s"):  # the page alone, and the page with a remembered count
            url = DATA_SOURCES_URL + query
            assert names(client.get(url, HTTP_X_ORGANIZATION_ID=str(other_organization.pk))) == ["theirs"]
            assert names(client.get(url, HTTP_X_ORGANIZATION_ID=str(organization.pk))) == ["ours"]
            assert names(client.get(url)) == ["ours"]  # the earliest membership


def test_a_long_query_string_is_not_kept(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create(workspace=workspace, name="alpha")
    # Unknown parameters are ignored, but a client could fill the statements with them.
    url = f"{DATA_SOURCES_URL}?{'&'.join(f'unknown{index}=1' for index in range(200))}"
    for _ in range(2):
        assert names(client.get(url)) == ["alpha"]
    assert compiles == []  # read through the ORM as usual, nothing kept
    for _ in range(2):
        assert names(client.get(f"{DATA_SOURCES_URL}?unknown=1")) == ["alpha"]
    assert len(compiles) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("search=alp", ["alpha"]),
        ("search=bet", ["beta"]),
        ("tags=x", ["alpha"]),
        ("tags=y", ["beta"]),
        ("sort_by=name&sort_order=desc", ["beta", "alpha"]),
        ("sort_by=name&sort_order=asc", ["alpha", "beta"]),
        ("sort_by=name&sort_order=asc&page_size=1", ["alpha"]),
        ("sort_by=name&sort_order=asc&page_size=1&page=2", ["beta"]),
    ],
)
def test_each_query_string_gets_its_own_statement(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str], query: str, expected: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create(workspace=workspace, name="alpha", tags=["x"])
    DataSourceFactory.create(workspace=workspace, name="beta", tags=["y"])
    # Every other query first, so a wrong reuse would answer their rows.
    for other in ("search=alp", "search=bet", "tags=x", "tags=y", "sort_by=name&sort_order=desc", "page_size=1"):
        client.get(f"{DATA_SOURCES_URL}?{other}")
    assert names(client.get(f"{DATA_SOURCES_URL}?{query}")) == expected


def test_rows_come_back_as_the_orm_reads_them(workspace: Workspace) -> None:
    DataSourceFactory.create(workspace=workspace, name="alpha", tags=["x", "y"])
    DataSourceFactory.create(workspace=workspace, name="beta", tags=[])
    cache = StatementCache()
    expected = list(rows(workspace.organization))
    assert cache.values("key", lambda: rows(workspace.organization), using="default") == expected
    assert cache.values("key", lambda: rows(workspace.organization), using="default") == expected  # reused
    assert isinstance(expected[0]["tags"], list)


def test_a_query_that_can_match_nothing_reads_nothing(workspace: Workspace) -> None:
    DataSourceFactory.create(workspace=workspace)
    cache = StatementCache()
    nothing = DataSource.objects.filter(pk__in=[]).values("name")
    assert cache.values("none", lambda: nothing, using="default") == []
    assert cache.values("none", lambda: nothing, using="default") == []


def test_a_key_naming_two_statements_fails_loudly(workspace: Workspace, settings: Any) -> None:
    settings.STATEMENT_CACHE_VERIFY = True
    cache = StatementCache()
    cache.values("incomplete", lambda: rows(workspace.organization), using="default")
    with pytest.raises(AssertionError, match="incomplete"):
        cache.values("incomplete", lambda: rows(workspace.organization).filter(name="other"), using="default")


def test_the_least_recently_used_statement_goes_first(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    monkeypatch.setattr(StatementCache, "size", 2)
    cache = StatementCache()
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.values(key, lambda: rows(workspace.organization), using="default")
    # a, b compiled; a reused; c pushed b out; a reused; b compiled again.
    assert len(compiles) == 4


def test_columns_the_ordering_adds_are_left_out_of_the_rows(workspace: Workspace) -> None:
    DataSourceFactory.create(workspace=workspace, name="alpha")
    DataSourceFactory.create(workspace=workspace, name="beta")
    # DISTINCT with an ordering outside the select list: the ORM selects created_at too.
    distinct_names = DataSource.objects.values("name").distinct().order_by("-created_at")
    expected = list(distinct_names)
    assert expected == [{"name": "beta"}, {"name": "alpha"}]
    assert StatementCache().values("distinct", lambda: distinct_names, using="default") == expected


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The query strings whose list queryset was built (filters validated, scope, sort)."""
    built: list[str] = []
    original = DataSourceViewSet.filter_queryset

    def recording(view: DataSourceViewSet, queryset: Any) -> Any:
        if view.action == "list":
            built.append(view.request.META.get("QUERY_STRING", ""))
        return original(view, queryset)

    monkeypatch.setattr(DataSourceViewSet, "filter_queryset", recording)
    return built


def test_the_same_list_request_builds_its_queryset_once_and_counts_current_rows(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str], builds: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create_batch(2, workspace=workspace, type=DataSourceType.POSTGRESQL)
    url = f"{DATA_SOURCES_URL}?type=postgresql&page_size=1"
    assert assert_success(client.get(url), 200, LISTED)["pagination"]["total_items"] == 2
    DataSourceFactory.create(workspace=workspace, type=DataSourceType.POSTGRESQL)
    DataSourceFactory.create(workspace=workspace, type=DataSourceType.MYSQL)
    # Built once; the filters it validated still pick the count.
    assert assert_success(client.get(url), 200, LISTED)["pagination"]["total_items"] == 3
    assert builds == ["type=postgresql&page_size=1"]
    assert assert_success(client.get(f"{DATA_SOURCES_URL}?type=mysql"), 200, LISTED)["pagination"]["total_items"] == 1
    assert builds == ["type=postgresql&page_size=1", "type=mysql"]


def test_a_refused_list_request_is_refused_every_time(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str], builds: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create(workspace=workspace)
    for _ in range(2):
        details = assert_error(client.get(f"{DATA_SOURCES_URL}?type=nosuchtype"), 400, "VALIDATION_ERROR")
        assert "type" in details
    assert len(builds) == 2  # nothing kept from a refused request


def test_a_remembered_queryset_is_never_handed_out_itself(workspace: Workspace) -> None:
    DataSourceFactory.create(workspace=workspace, name="alpha")
    DataSourceFactory.create(workspace=workspace, name="beta")
    cache = StatementCache()

    def build() -> tuple[QuerySet[Any], dict[str, Any]]:
        return rows(workspace.organization), {"built": True}

    first, state = cache.queryset("list", build)
    again, same_state = cache.queryset("list", build)
    assert again is not first and same_state is state
    # What one request does to its queryset in place stays in that request.
    first.query.add_q(Q(name="alpha"))
    again.query.set_limits(0, 1)
    assert [row["name"] for row in again] == ["alpha"]
    third, _state = cache.queryset("list", build)
    assert third is not again
    assert [row["name"] for row in third] == ["alpha", "beta"]


def test_every_page_of_a_list_shares_its_queryset_and_counts_current_rows(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str], builds: list[str]
) -> None:
    client = member_client(Role.VIEWER, workspace.organization)
    DataSourceFactory.create(workspace=workspace, name="prod a", tags=["x", "y"])
    DataSourceFactory.create(workspace=workspace, name="prod b", tags=["x", "y"])
    DataSourceFactory.create(workspace=workspace, name="test c", tags=["x"])
    # Totals counted by the remembered count; each list then gets a row of its own.
    for query, new_row in (("search=prod", {"name": "prod d", "tags": []}), ("tags=x,y", {"tags": ["x", "y"]})):
        for page in (1, 2, 1):
            data = assert_success(client.get(f"{DATA_SOURCES_URL}?{query}&page_size=1&page={page}"), 200, LISTED)
            assert data["pagination"]["total_items"] == 2
        DataSourceFactory.create(workspace=workspace, **new_row)
        data = assert_success(client.get(f"{DATA_SOURCES_URL}?{query}&page_size=1&page=3"), 200, LISTED)
        assert data["pagination"]["total_items"] == 3
        assert len(data["items"]) == 1
    assert builds == ["search=prod&page_size=1&page=1", "tags=x,y&page_size=1&page=1"]
    # Per list: the page 1 statement, the remembered count's, the last page's (pages 2 and 3
    # of 2 and 3 rows are each read from the far end: the same statement).
    assert len(compiles) == 6


class ByWorkspace(FilterSet):
    """A filter that checks its value against rows: valid today, refused once the row is gone."""

    reads_query_alone = True  # wrongly declared: refused anyway, for its ModelChoiceFilter

    workspace = django_filters.ModelChoiceFilter(queryset=Workspace.objects.all())

    class Meta:
        model = DataSource
        fields = ["workspace"]


class ByWorkspaceViewSet(DataSourceViewSet):
    filterset_class = ByWorkspace


class Mine(FilterSet):
    """A `method` filter reading the request's user: `mine=true` lists the rows named by their id."""

    reads_query_alone = True  # wrongly declared: refused anyway, for its method

    mine = django_filters.BooleanFilter(method="named_after_user")

    def named_after_user(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        return queryset.filter(name=str(self.request.user.pk)) if value else queryset


class MineViewSet(DataSourceViewSet):
    filterset_class = Mine


urlpatterns = [
    path("by-workspace", ByWorkspaceViewSet.as_view({"get": "list"})),
    path("mine", MineViewSet.as_view({"get": "list"})),
]


@pytest.mark.urls(__name__)
def test_a_list_whose_filters_read_rows_is_built_and_validated_every_time(
    workspace: Workspace, compiles: list[str]
) -> None:
    membership = MembershipFactory.create(role=Role.VIEWER, organization=workspace.organization)
    DataSourceFactory.create(workspace=workspace, name="alpha")
    client, url = MemberClient(membership.user), f"/by-workspace?workspace={workspace.pk}"
    assert names(client.get(url)) == ["alpha"]
    DataSource.objects.all().delete()
    workspace.delete()
    assert assert_error(client.get(url), 400, "VALIDATION_ERROR") == {"workspace": [ANY]}


@pytest.mark.urls(__name__)
def test_a_list_whose_filters_read_the_user_is_built_and_compiled_for_each_user(
    workspace: Workspace, compiles: list[str]
) -> None:
    first, second = (MembershipFactory.create(role=Role.VIEWER, organization=workspace.organization) for _ in "12")
    for membership in (first, second):
        DataSourceFactory.create(workspace=workspace, name=str(membership.user.pk))
    for _ in range(2):
        for membership in (first, second):
            assert names(MemberClient(membership.user).get("/mine?mine=true")) == [str(membership.user.pk)]
    assert compiles == []  # read through the ORM each time: nothing remembered


def test_only_filtersets_declared_to_read_the_query_alone_build_a_list_once() -> None:
    class Undeclared(FilterSet):
        named = django_filters.CharFilter(field_name="name")

    class Declared(Undeclared):
        reads_query_alone = True

    class ByDate(FilterSet):
        reads_query_alone = True  # wrongly: "today" moves
        created = django_filters.DateRangeFilter(field_name="created_at")

    def viewset(**attributes: Any) -> type[DataSourceViewSet]:
        return type("Listed", (DataSourceViewSet,), attributes)

    assert DataSourceViewSet.builds_list_from_query_alone()
    assert viewset(filterset_class=Declared).builds_list_from_query_alone()
    assert not viewset(filterset_class=Undeclared).builds_list_from_query_alone()
    assert not ByWorkspaceViewSet.builds_list_from_query_alone()
    assert not MineViewSet.builds_list_from_query_alone()
    assert not viewset(filterset_class=ByDate).builds_list_from_query_alone()
    # Filters django-filter generates from `filterset_fields` declare nothing.
    assert not viewset(filterset_class=None, filterset_fields=["name"]).builds_list_from_query_alone()
    # A backend that does not say what it reads.
    assert not viewset(
        filter_backends=[*DataSourceViewSet.filter_backends, OrderingFilter]
    ).builds_list_from_query_alone()


def test_a_key_building_two_querysets_or_two_states_fails_loudly(workspace: Workspace, settings: Any) -> None:
    settings.STATEMENT_CACHE_VERIFY = True
    cache = StatementCache()
    cache.queryset("incomplete", lambda: (rows(workspace.organization), {"type": ["mysql"]}))
    with pytest.raises(AssertionError, match="incomplete"):
        cache.queryset("incomplete", lambda: (rows(workspace.organization).filter(name="x"), {"type": ["mysql"]}))
    with pytest.raises(AssertionError, match="incomplete"):
        cache.queryset("incomplete", lambda: (rows(workspace.organization), {"type": ["csv"]}))


def test_a_repeated_page_builds_no_queryset_wherever_it_is_read_from(
    member_client: MemberClientFactory, workspace: Workspace, compiles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rivergen.api.pagination import EnvelopePagination

    client = member_client(Role.VIEWER, workspace.organization)
    for name in "abcdefgh":
        DataSourceFactory.create(workspace=workspace, name=name)
    monkeypatch.setattr(EnvelopePagination, "deferred_join_from", 2)  # page 2 of 4 on: its ids first
    counted = {"clones": 0}
    clone = QuerySet._clone  # type: ignore[attr-defined]

    def counting(queryset: QuerySet[Any]) -> QuerySet[Any]:
        counted["clones"] += 1
        return clone(queryset)

    monkeypatch.setattr(QuerySet, "_clone", counting)
    clones_per_repeat: dict[str, int] = {}
    for read, page in (("first page", 1), ("ids first (deferred join)", 2), ("last page, backwards", 4)):
        url = f"{DATA_SOURCES_URL}?sort_by=name&sort_order=asc&page_size=2&page={page}"
        first = names(client.get(url))
        compiled, counted["clones"] = len(compiles), 0
        assert names(client.get(url)) == first
        assert len(compiles) == compiled
        clones_per_repeat[read] = counted["clones"]

    # A repeat only clones the remembered list queryset: each page's statement is reused as it is.
    assert set(clones_per_repeat.values()) == {clones_per_repeat["first page"]}, clones_per_repeat
