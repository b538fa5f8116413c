"""The token index counts a search exactly as counting the matching rows does (migration 0009).

Every check compares `datasource_search_count` with the row count of the `search` filter's
own lookup (icontains on name or description), never with a number written by hand, so it
holds whatever the database's UPPER does to non-ASCII letters.
"""

import random
from importlib import import_module

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from datasources.models import DataSource, DataSourceStatus, DataSourceType
from datasources.selectors import datasource_search_count
from organizations.models import Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, MemberClientFactory, assert_success
from tests.factories import DataSourceFactory, OrganizationFactory, WorkspaceFactory

LISTED = "Data sources retrieved successfully"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the token index is PostgreSQL's"),
]

# A long run of letters and one of digits, without repeats that would hide a misplaced chunk.
_rng = random.Random(2026)
LONG_LETTERS = "".join(_rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=3_000))
LONG_DIGITS = "".join(_rng.choices("0123456789", k=650))

ROWS = [
    ("Billing warehouse", "Daily BILLING export, v2 (eu-west-1)"),
    ("Orders 2024", None),
    ("ex-prod-01", "EXPORT to INDEX; re-index nightly"),
    ("Zebra42abc", "abc123def 7 77 777"),
    # Long s, the "fi" ligature and dotless i: letters whose upper case is ASCII, or longer.
    ("Café-Prod", "straße und STRASSE, \u017ftate, \ufb01le, İstanbul, \u0131i"),
    ("Plain", ""),
    ("Long letters", LONG_LETTERS.lower()),
    ("Long digits", f"id {LONG_DIGITS}."),
]

# Whole words, prefixes, suffixes, inner substrings, mixed case.
WORDS = ["billing", "BILLING", "BiLLiNg", "warehouse", "bill", "ling", "illi", "orders", "export", "index"]
# One and two characters, letters and digits.
SHORT = ["a", "x", "e", "z", "7", "0", "ex", "in", "ab", "42", "20", "77", "777", "01", "1"]
# Across a separator: no row holds these as a substring, so no token may match them either.
ACROSS = ["gwarehouse", "billingwarehouse", "zebraabc", "abcdef", "exprod", "cafprod", "7777", "nosuchword"]
# Next to non-ASCII letters.
NON_ASCII = ["caf", "cafe", "prod", "stra", "strasse", "tate", "state", "le", "file", "stanbul", "istanbul", "i"]
# Inside the long runs: across the first chunk's end (position 400) and the second's start
# (201), 200 characters, the very end, lower case, a reversed piece.
LONG = [
    LONG_LETTERS[390:410],
    LONG_LETTERS[190:215],
    LONG_LETTERS[395:595],
    LONG_LETTERS[400:600],
    LONG_LETTERS[2_800:3_000],
    LONG_LETTERS[2_990:],
    LONG_LETTERS[:200].lower(),
    LONG_LETTERS[10:20][::-1],
    LONG_DIGITS[390:410],
    LONG_DIGITS[450:650],
    LONG_DIGITS[-3:],
]
TERMS = WORDS + SHORT + ACROSS + NON_ASCII + LONG


def searched(organization: Organization, term: str) -> int:
    """The rows the `search` filter matches: a case-insensitive substring of name or description."""
    return (
        DataSource.objects.filter(organization=organization)
        .filter(Q(name__icontains=term) | Q(description__icontains=term))
        .count()
    )


def assert_token_counts_match_rows(organization: Organization, terms: list[str] = TERMS) -> None:
    for term in terms:
        assert datasource_search_count(organization_id=organization.pk, term=term) == searched(organization, term), term


@pytest.fixture
def two_organizations() -> tuple[Organization, Organization]:
    """The same rows in two organizations, spread over workspaces, types, statuses and tags."""
    organization, other = OrganizationFactory.create(), OrganizationFactory.create()
    for owner in (organization, other):
        workspaces = [WorkspaceFactory.create(organization=owner) for _ in range(2)]
        for index, (name, description) in enumerate(ROWS):
            DataSourceFactory.create(
                workspace=workspaces[index % 2],
                name=name,
                description=description,
                type=(DataSourceType.POSTGRESQL, DataSourceType.MYSQL)[index % 2],
                status=(DataSourceStatus.ACTIVE, DataSourceStatus.FAILED, DataSourceStatus.INACTIVE)[index % 3],
                tags=(["pii"], [], ["pii", "prod"])[index % 3],
            )
    return organization, other


def test_token_counts_equal_row_counts_for_every_kind_of_term(
    two_organizations: tuple[Organization, Organization],
) -> None:
    organization, other = two_organizations
    assert_token_counts_match_rows(organization)
    assert_token_counts_match_rows(other)
    # Spot checks that the terms above test something: some match, some must not.
    assert datasource_search_count(organization_id=organization.pk, term="billing") == 1
    assert datasource_search_count(organization_id=organization.pk, term="e") == 6
    assert datasource_search_count(organization_id=organization.pk, term=LONG_LETTERS[390:410]) == 1
    assert datasource_search_count(organization_id=organization.pk, term=LONG_LETTERS[395:595]) == 1
    assert datasource_search_count(organization_id=organization.pk, term=LONG_DIGITS[450:650]) == 1
    for across_a_boundary in ("gwarehouse", "billingwarehouse", "zebraabc", "cafprod"):
        assert datasource_search_count(organization_id=organization.pk, term=across_a_boundary) == 0


@pytest.mark.parametrize(
    "filters",
    [
        {"workspace__name__isnull": False},
        {"type": DataSourceType.MYSQL},
        {"status__in": [DataSourceStatus.ACTIVE, DataSourceStatus.FAILED]},
        {"tags__contains_all": ["pii"]},
        {"type": DataSourceType.POSTGRESQL, "status": DataSourceStatus.INACTIVE, "tags__contains_all": ["prod"]},
    ],
)
def test_token_counts_within_filtered_rows_equal_row_counts(
    two_organizations: tuple[Organization, Organization], filters: dict[str, object]
) -> None:
    for organization in two_organizations:
        within = DataSource.objects.filter(organization=organization, **filters)
        for term in TERMS:
            expected = within.filter(Q(name__icontains=term) | Q(description__icontains=term)).count()
            assert datasource_search_count(organization_id=organization.pk, term=term, within=within) == expected, term


@pytest.mark.parametrize(
    "term", ["ex-prod", "a42", "two words", "café", "straße", "İ", "x" * 201, "1" * 201, "%", "a_b", ""]
)
def test_terms_the_tokens_cannot_answer_are_left_to_counting_rows(
    two_organizations: tuple[Organization, Organization], term: str
) -> None:
    assert datasource_search_count(organization_id=two_organizations[0].pk, term=term) is None


def test_a_long_run_is_stored_in_overlapping_chunks_of_400(workspace: Workspace) -> None:
    source = DataSourceFactory.create(workspace=workspace, name="x", description=LONG_LETTERS)
    prefix = f"{workspace.organization_id}:"
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_tokens FROM datasources_datasource WHERE id = %s", [source.pk])
        tokens = cursor.fetchone()[0]
    chunks = [LONG_LETTERS[start : start + 400] for start in range(0, 3_000 - 200, 200)]
    assert sorted(tokens) == sorted([f"{prefix}X", *(prefix + chunk for chunk in chunks)])
    assert chunks[-1] == LONG_LETTERS[-400:]


def test_token_counts_follow_every_kind_of_write(two_organizations: tuple[Organization, Organization]) -> None:
    organization, other = two_organizations
    workspace = organization.workspaces.order_by("id").first()
    terms = ["billing", "bill", "ledger", "ledgers", "invoice", "moved", "quartz", "2025", "e", "ex", "42"]
    rows = DataSource.objects.filter(organization=organization)

    DataSourceFactory.create(workspace=workspace, name="Ledger 2025", description="quartz invoices")
    renamed = rows.get(name="Billing warehouse")
    renamed.name = "Ledgers"
    renamed.save()
    described = rows.get(name="Orders 2024")
    described.description = "Invoice feed"
    described.save()
    DataSource.objects.bulk_create(
        DataSourceFactory.build(workspace=workspace, name=f"Bulk {n}", description=f"quartz {n}42") for n in range(3)
    )
    rows.filter(name__startswith="Bulk").update(description="billing moved")
    rows.filter(name="Zebra42abc").delete()
    moved = rows.get(name="ex-prod-01")
    DataSource.objects.filter(pk=moved.pk).update(
        organization=other, workspace=other.workspaces.order_by("id").first(), name="Moved"
    )

    assert_token_counts_match_rows(organization, terms)
    assert_token_counts_match_rows(other, terms)
    assert datasource_search_count(organization_id=organization.pk, term="billing") == 4
    assert datasource_search_count(organization_id=organization.pk, term="moved") == 3
    assert datasource_search_count(organization_id=other.pk, term="moved") == 1


def test_token_counts_follow_raw_sql_and_id_changes(two_organizations: tuple[Organization, Organization]) -> None:
    """Writes around the ORM: the column is generated, so it follows them too."""
    organization, _ = two_organizations
    ids = list(DataSource.objects.filter(organization=organization).values_list("pk", flat=True)[:3])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE datasources_datasource SET id = id + 1000000, name = name || ' obsidian' WHERE id = ANY(%s)",
            [ids],
        )
    assert_token_counts_match_rows(organization, ["obsidian", "sidi", "billing"])
    assert datasource_search_count(organization_id=organization.pk, term="obsidian") == 3


def test_the_vocabulary_holds_every_stored_token_without_its_prefix(
    two_organizations: tuple[Organization, Organization],
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT substr(element, strpos(element, ':') + 1)"
            " FROM datasources_datasource, unnest(search_tokens) AS element"
            " EXCEPT SELECT token FROM datasources_searchtoken"
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM datasources_searchtoken WHERE token IN ('BILLING', 'CAF', '42', 'ABC')")
        assert cursor.fetchone()[0] == 4


def test_the_migration_backfill_rebuilds_the_vocabulary(
    two_organizations: tuple[Organization, Organization],
) -> None:
    migration = import_module("datasources.migrations.0009_search_tokens")
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(token ORDER BY token) FROM datasources_searchtoken")
        before = cursor.fetchone()[0]
        cursor.execute("DELETE FROM datasources_searchtoken")
        cursor.execute(migration.POSTGRESQL_BACKFILL)
        cursor.execute("SELECT array_agg(token ORDER BY token) FROM datasources_searchtoken")
        assert cursor.fetchone()[0] == before
    assert_token_counts_match_rows(two_organizations[0], ["billing", "e", "42"])


def test_a_token_no_row_holds_any_more_matches_nothing(two_organizations: tuple[Organization, Organization]) -> None:
    """The vocabulary is never pruned: a stale token widens the lookup, never the count."""
    organization, _ = two_organizations
    DataSource.objects.filter(organization=organization, name="Zebra42abc").delete()
    DataSource.objects.filter(organization=organization, name="Billing warehouse").update(
        name="Other", description=None
    )
    assert_token_counts_match_rows(organization, ["zebra", "billing", "warehouse", "bill"])
    assert datasource_search_count(organization_id=organization.pk, term="zebra") == 0


@pytest.mark.parametrize(
    ("params", "filters", "by_tokens"),
    [
        ({"search": "billing"}, {}, True),
        ({"search": "E", "type": "mysql"}, {"type": DataSourceType.MYSQL}, True),
        ({"search": "7", "tags": "pii"}, {"tags__contains_all": ["pii"]}, True),
        ({"search": "ex-prod"}, {}, False),
        ({"search": "straße"}, {}, False),
    ],
)
def test_the_list_counts_searches_of_one_character_class_by_tokens(
    member_client: MemberClientFactory,
    two_organizations: tuple[Organization, Organization],
    params: dict[str, str],
    filters: dict[str, object],
    by_tokens: bool,
) -> None:
    organization = two_organizations[0]
    client = member_client(Role.VIEWER, organization)
    with CaptureQueriesContext(connection) as context:
        data = assert_success(client.get(DATA_SOURCES_URL, {**params, "page_size": "1"}), 200, LISTED)
    counts = [query["sql"] for query in context.captured_queries if "count(*)" in query["sql"].lower()]
    term = params["search"]
    expected = DataSource.objects.filter(organization=organization, **filters)
    expected = expected.filter(Q(name__icontains=term) | Q(description__icontains=term))
    assert data["pagination"]["total_items"] == expected.count() > 0
    assert len(counts) == 1
    assert ("search_tokens" in counts[0]) is by_tokens
