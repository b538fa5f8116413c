"""DataSourceFilterSet on querysets directly: parsing, validation, and the tags lookup.

The API tests (test_api_list.py) cover the same parameters through HTTP; these pin
down the filterset's own rules and the `contains_all` lookup on both databases.
"""

from typing import Any
from urllib.parse import urlencode

import django_filters
import pytest
from django.db import connection
from django.http import QueryDict

from datasources.filtersets import DataSourceFilterSet
from datasources.models import MAX_TAGS, DataSource, DataSourceStatus, DataSourceType
from organizations.models import Organization, Workspace
from rivergen.api.filters import FilterSet
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

MAX_BIGINT = 2**63 - 1
WORKSPACE_ID_MESSAGE = f"Must be a positive integer no larger than {MAX_BIGINT}."


def as_query(params: dict[str, Any] | str) -> QueryDict:
    """Form data as the API receives it: a QueryDict, lists meaning a repeated parameter."""
    return QueryDict(params if isinstance(params, str) else urlencode(params, doseq=True))


def bound(params: dict[str, Any] | str, queryset: Any = None) -> DataSourceFilterSet:
    queryset = DataSource.objects.all() if queryset is None else queryset
    return DataSourceFilterSet(data=as_query(params), queryset=queryset)


def filtered_ids(params: dict[str, Any] | str, queryset: Any = None) -> set[int]:
    filterset = bound(params, queryset)
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("id", flat=True))


def cleaned(params: dict[str, Any] | str, name: str) -> Any:
    filterset = bound(params)
    assert filterset.is_valid(), filterset.errors
    return filterset.form.cleaned_data[name]


def form_errors(params: dict[str, Any] | str) -> dict[str, list[str]]:
    filterset = bound(params)
    assert not filterset.is_valid()
    return {field: list(messages) for field, messages in filterset.errors.items()}


def make_source(workspace: Workspace, type: str = DataSourceType.POSTGRESQL, **fields: Any) -> DataSource:
    if type in (DataSourceType.CSV, DataSourceType.SQLITE):
        fields = {"host": None, "port": None, "database_name": None, "file_path": f"/data/{type}", **fields}
    return DataSourceFactory.create(workspace=workspace, type=type, **fields)


@pytest.fixture
def second_workspace(organization: Organization) -> Workspace:
    return WorkspaceFactory.create(organization=organization)


# --- declaration ---------------------------------------------------------------------------


def test_the_filterset_declares_exactly_the_contracts_filter_parameters():
    assert set(DataSourceFilterSet.base_filters) == {"workspace_id", "type", "status_filter", "tags"}
    assert DataSourceFilterSet.base_filters["status_filter"].field_name == "status"


def test_no_data_and_empty_data_leave_the_queryset_unfiltered(workspace):
    sources = {make_source(workspace).id, make_source(workspace, DataSourceType.CSV).id}
    assert set(DataSourceFilterSet(data=None, queryset=DataSource.objects.all()).qs.values_list("id", flat=True)) == (
        sources
    )
    assert filtered_ids("") == sources
    assert filtered_ids({"type": "", "status_filter": "", "tags": "", "workspace_id": ""}) == sources


def test_unknown_keys_are_ignored(workspace):
    source = make_source(workspace)
    assert filtered_ids({"status": "failed", "ordering": "-name", "foo": "bar"}) == {source.id}


# --- workspace_id -----------------------------------------------------------------------------


@pytest.mark.parametrize("as_text", [False, True])
def test_workspace_id_filters_to_that_workspace(workspace, second_workspace, as_text):
    first = make_source(workspace)
    make_source(second_workspace)
    value = str(workspace.id) if as_text else workspace.id
    assert filtered_ids({"workspace_id": value}) == {first.id}
    assert cleaned({"workspace_id": value}, "workspace_id") == workspace.id


def test_workspace_id_at_the_64_bit_limit_is_valid(workspace):
    make_source(workspace)
    assert cleaned({"workspace_id": str(MAX_BIGINT)}, "workspace_id") == MAX_BIGINT
    assert filtered_ids({"workspace_id": str(MAX_BIGINT)}) == set()


@pytest.mark.parametrize(
    "value",
    ["0", "-1", "abc", "1.5", str(2**63), "1e3", "+1", "0x1A", "\uff11", "1\x00", "9" * 5000, "1 2"],
)
def test_invalid_workspace_id(value):
    assert form_errors({"workspace_id": value}) == {"workspace_id": [WORKSPACE_ID_MESSAGE]}


def test_workspace_id_never_widens_a_scoped_queryset(workspace, other_organization):
    foreign_workspace = WorkspaceFactory.create(organization=other_organization)
    make_source(foreign_workspace)
    scoped = DataSource.objects.filter(organization=workspace.organization)
    assert filtered_ids({"workspace_id": foreign_workspace.id}, scoped) == set()


# --- type and status_filter ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "types"),
    [
        ("type=postgresql", ["postgresql"]),
        ("type=postgresql,csv", ["postgresql", "csv"]),
        ("type=postgresql&type=csv", ["postgresql", "csv"]),
        ("type=postgresql,mysql&type=csv", ["postgresql", "mysql", "csv"]),
        ("type=+postgresql+,+csv+", ["postgresql", "csv"]),
        ("type=postgresql,,csv,", ["postgresql", "csv"]),
        ("type=", []),
        ("type=,", []),
    ],
    ids=["single", "comma", "repeated", "mixed", "spaces", "empty-parts", "empty", "only-comma"],
)
def test_type_parsing(workspace, query, types):
    sources = {value: make_source(workspace, value) for value in ("postgresql", "mysql", "csv", "sqlite")}
    assert cleaned(query, "type") == types
    expected = {sources[value].id for value in types} if types else {source.id for source in sources.values()}
    assert filtered_ids(query) == expected


@pytest.mark.parametrize("value", DataSourceType.values)
def test_every_type_is_a_valid_choice(value):
    assert cleaned({"type": value}, "type") == [value]


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("type=bogus", "bogus"),
        ("type=postgresql,bogus", "bogus"),
        ("type=postgresql&type=bogus", "bogus"),
        ("type=active", "active"),
        ("type=PostgreSQL", "PostgreSQL"),
    ],
)
def test_unknown_type(query, bad):
    assert form_errors(query) == {"type": [f"Select a valid choice. {bad} is not one of the available choices."]}


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("status_filter=active", ["active"]),
        ("status_filter=active,failed", ["active", "failed"]),
        ("status_filter=active&status_filter=failed", ["active", "failed"]),
        ("status_filter=active,testing&status_filter=maintenance", ["active", "testing", "maintenance"]),
        ("status_filter=", []),
    ],
    ids=["single", "comma", "repeated", "mixed", "empty"],
)
def test_status_filter_parsing_filters_on_the_status_column(workspace, query, statuses):
    sources = {value: make_source(workspace, status=value) for value in DataSourceStatus.values}
    assert cleaned(query, "status_filter") == statuses
    expected = {sources[value].id for value in statuses} if statuses else {s.id for s in sources.values()}
    assert filtered_ids(query) == expected


@pytest.mark.parametrize("query", ["status_filter=deleted", "status_filter=active,deleted", "status_filter=postgresql"])
def test_unknown_status_filter(query):
    errors = form_errors(query)
    assert list(errors) == ["status_filter"]
    assert len(errors["status_filter"]) == 1


def test_invalid_values_are_reported_per_parameter():
    too_many_tags = ",".join(f"tag{index}" for index in range(MAX_TAGS + 1))
    errors = form_errors({"workspace_id": "x", "type": "nope", "status_filter": "nope", "tags": too_many_tags})
    assert set(errors) == {"workspace_id", "type", "status_filter", "tags"}


# --- tags parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "tags"),
    [
        ("tags=prod", ["prod"]),
        ("tags=prod,pii", ["prod", "pii"]),
        ("tags=+Prod+,PII", ["prod", "pii"]),
        ("tags=prod&tags=pii", ["prod", "pii"]),
        ("tags=prod,pii&tags=finance", ["prod", "pii", "finance"]),
        ("tags=prod,PROD,+prod", ["prod"]),
        ("tags=,prod,,", ["prod"]),
        ("tags=", []),
        ("tags=+,+", []),
    ],
)
def test_tags_parsing(query, tags):
    assert cleaned(query, "tags") == tags


def test_twenty_tags_are_accepted():
    twenty = [f"tag{index}" for index in range(MAX_TAGS)]
    assert cleaned({"tags": ",".join(twenty)}, "tags") == twenty


@pytest.mark.parametrize(
    "params",
    [{"tags": ",".join(f"tag{index}" for index in range(21))}, {"tags": [f"tag{index}" for index in range(21)]}],
    ids=["comma", "repeated"],
)
def test_more_than_twenty_tags(params):
    assert form_errors(params) == {"tags": [f"At most {MAX_TAGS} tags are allowed."]}


def test_a_tag_with_a_nul_byte():
    assert form_errors({"tags": "prod,p\x00ii"}) == {"tags": ["Tags cannot contain null characters."]}


# --- the contains_all lookup, on whichever database runs the tests -----------------------------

SPECIAL_TAGS = ['say "hi"', "100%", "pii_data", "back\\slash", "über", "🚀", "[x]", "a,b", "123", "null"]


@pytest.fixture
def tagged(workspace: Workspace) -> dict[str, DataSource]:
    return {
        "prod+pii": make_source(workspace, tags=["prod", "pii"]),
        "prod": make_source(workspace, tags=["prod"]),
        "pii+finance": make_source(workspace, tags=["pii", "finance"]),
        "none": make_source(workspace, tags=[]),
        "special": make_source(workspace, tags=SPECIAL_TAGS),
    }


@pytest.mark.parametrize(
    ("wanted", "keys"),
    [
        (["prod"], ["prod+pii", "prod"]),
        (["prod", "pii"], ["prod+pii"]),
        (["pii", "prod"], ["prod+pii"]),
        (["prod", "prod"], ["prod+pii", "prod"]),
        (["prod", "finance"], []),
        (["pro"], []),
        (["prod "], []),
        (["Prod"], []),
        ([], ["prod+pii", "prod", "pii+finance", "none", "special"]),
    ],
)
def test_contains_all_lookup(tagged, wanted, keys):
    matched = set(DataSource.objects.filter(tags__contains_all=wanted).values_list("id", flat=True))
    assert matched == {tagged[key].id for key in keys}


@pytest.mark.parametrize("tag", SPECIAL_TAGS)
def test_contains_all_matches_special_characters_literally(tagged, tag):
    matched = set(DataSource.objects.filter(tags__contains_all=[tag]).values_list("id", flat=True))
    assert matched == {tagged["special"].id}


@pytest.mark.parametrize("wanted", [["100"], ["pii"], ["slash"], ['"hi"'], ["x"], ["a"], ["12"], ["%"], ["_"]])
def test_contains_all_does_not_match_parts_of_tags(tagged, wanted):
    special = tagged["special"]
    assert not DataSource.objects.filter(pk=special.pk, tags__contains_all=wanted).exists()


def test_contains_all_uses_jsonb_containment_on_postgresql(tagged):
    sql = str(DataSource.objects.filter(tags__contains_all=["prod"]).query)
    if connection.vendor == "postgresql":
        assert "@>" in sql  # so a GIN index on tags can serve it
    else:
        assert "JSON_EACH" in sql


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("tags=prod", ["prod+pii", "prod"]),
        ("tags=+Prod+,PII", ["prod+pii"]),
        ("tags=prod&tags=pii", ["prod+pii"]),
        ("tags=PII,Finance", ["pii+finance"]),
        ("tags=prod,finance", []),
        ("tags=", ["prod+pii", "prod", "pii+finance", "none", "special"]),
    ],
)
def test_tags_filter_matches_rows_carrying_all_tags(tagged, query, keys):
    assert filtered_ids(query) == {tagged[key].id for key in keys}


def test_tags_filter_matches_special_tags_through_the_form(tagged):
    assert filtered_ids({"tags": ["ÜBER", 'SAY "HI"', "100%"]}) == {tagged["special"].id}


# --- all together ---------------------------------------------------------------------------------


def test_filters_combine_with_and(workspace, second_workspace):
    match = make_source(workspace, status=DataSourceStatus.ACTIVE, tags=["prod", "pii"])
    make_source(workspace, status=DataSourceStatus.FAILED, tags=["prod", "pii"])
    make_source(workspace, DataSourceType.CSV, status=DataSourceStatus.ACTIVE, tags=["prod"])
    make_source(second_workspace, status=DataSourceStatus.ACTIVE, tags=["prod", "pii"])
    make_source(workspace, DataSourceType.MYSQL, status=DataSourceStatus.ACTIVE, tags=["prod", "pii"])

    params = {"workspace_id": workspace.id, "type": "postgresql,csv", "status_filter": "active", "tags": "pii,prod"}
    assert filtered_ids(params) == {match.id}


def test_a_null_element_does_not_make_a_row_match_every_tag(workspace: Workspace) -> None:
    """Only rows written around the API can hold one; SQLite's NOT IN once matched them all."""
    source = make_source(workspace, tags=["a"])
    DataSource.objects.filter(pk=source.pk).update(tags=["a", None, 7])

    assert not DataSource.objects.filter(tags__contains_all=["zzz"]).exists()
    assert list(DataSource.objects.filter(tags__contains_all=["a"]).values_list("pk", flat=True)) == [source.pk]


# --- rivergen.api.filters.FilterSet copies its filters shallowly ---------------------------------


class MethodFilterSet(FilterSet):
    """A filter with `method=`: the kind a shallow copy could leave bound to another instance."""

    named = django_filters.CharFilter(method="filter_named")

    class Meta:
        model = DataSource
        fields = ["named"]

    def filter_named(self, queryset: Any, name: str, value: str) -> Any:
        assert self.filters["named"].parent is self
        return queryset.filter(name=value)


def test_each_filterset_has_filters_of_its_own_bound_to_it(workspace: Workspace) -> None:
    make_source(workspace, name="first")
    make_source(workspace, name="second")

    one = MethodFilterSet({"named": "first"}, DataSource.objects.all())
    two = MethodFilterSet({"named": "second"}, DataSource.objects.all())

    assert [row.name for row in one.qs] == ["first"]
    assert [row.name for row in two.qs] == ["second"]
    assert one.filters["named"] is not two.filters["named"]
    assert one.filters["named"].parent is one and two.filters["named"].parent is two
    assert getattr(MethodFilterSet.base_filters["named"], "parent", None) is None
    one.filters["named"].extra["written"] = "by one request"
    assert "written" not in two.filters["named"].extra
    assert "written" not in MethodFilterSet.base_filters["named"].extra


def test_each_filter_form_gets_its_own_dict_of_the_shared_fields() -> None:
    first = DataSourceFilterSet(QueryDict("type=mysql")).form
    second = DataSourceFilterSet(QueryDict()).form

    assert first.fields["type"] is second.fields["type"]  # not deep-copied per request
    del first.fields["type"]
    assert "type" in second.fields
    assert second.is_valid() and second.cleaned_data["type"] == []
