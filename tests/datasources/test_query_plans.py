"""PostgreSQL uses the list endpoint's indexes for the SQL the ORM really emits.

Each test takes the exact queryset the API builds for a request and asks the planner
for its plan (searches and tags over an organization of 10,000 rows). For sorts, sequential scans and
explicit sorting are priced out, so the assertion is about whether an index *matches*
the ORDER BY, whatever the planner would pick at this size.
"""

import pytest
from django.db import connection
from django.test import RequestFactory
from rest_framework.request import Request

from datasources.api.views import DataSourceViewSet
from organizations.models import Organization
from tests.factories import DataSourceFactory, MembershipFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes and plans are PostgreSQL's"),
]


def list_queryset(organization: Organization, query: str) -> object:
    """The page queryset the list endpoint runs for `?query` (filters, search, sort applied)."""
    membership = MembershipFactory.create(organization=organization)
    view = DataSourceViewSet(action="list", format_kwarg=None, kwargs={})
    view.request = Request(RequestFactory().get(f"/api/v1/data-sources?{query}"))
    view.request.user = membership.user
    return view.filter_queryset(view.get_queryset())


def plan_of(queryset: object, *, no_sort: bool = False) -> str:
    with connection.cursor() as cursor:
        if no_sort:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def organization() -> Organization:
    return DataSourceFactory.create(name="Zephyr warehouse", description="rare words here", tags=["pii"]).organization


@pytest.fixture
def large_organization() -> Organization:
    source = DataSourceFactory.create(name="Zephyr warehouse", description="rare words here", tags=["pii"])
    with connection.cursor() as cursor:
        # Enough ordinary rows that reading the whole organization is clearly the
        # expensive way, as in production; generated in SQL for speed.
        cursor.execute(
            """
            INSERT INTO datasources_datasource
                (organization_id, workspace_id, name, type, description, host, port, database_name,
                 use_ssh_tunnel, status, schema_auto_refresh, tags, created_at, updated_at)
            SELECT %s, %s, 'Common source ' || n, 'postgresql', 'an ordinary description',
                   'db.example.com', 5432, 'analytics', false, 'active', true, '["common"]',
                   now() - n * interval '1 minute', now()
            FROM generate_series(1, 10000) AS n
            """,
            [source.organization_id, source.workspace_id],
        )
        # Fresh GIN entries wait in a pending list that the planner prices high; a
        # production table has had them merged by autovacuum.
        for index in ("datasource_name_trgm", "datasource_description_trgm", "datasource_tags_gin"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE datasources_datasource")
    return source.organization


def test_a_selective_search_uses_the_trigram_indexes(large_organization: Organization) -> None:
    # The rows to count: Django's icontains is UPPER(col::text) LIKE UPPER(%s), the
    # indexed expression.
    plan = plan_of(list_queryset(large_organization, "search=zephyr").order_by())  # type: ignore[attr-defined]
    assert "datasource_name_trgm" in plan, plan
    assert "datasource_description_trgm" in plan, plan


def test_a_selective_tags_filter_uses_the_gin_index(large_organization: Organization) -> None:
    plan = plan_of(list_queryset(large_organization, "tags=pii").order_by())  # type: ignore[attr-defined]
    assert "datasource_tags_gin" in plan, plan


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("", "datasource_org_created|datasource_created"),
        ("sort_by=name&sort_order=asc", "datasource_org_name"),
        ("sort_by=name&sort_order=desc", "datasource_org_name"),
        ("sort_by=last_tested_at&sort_order=desc", "datasource_org_tested_desc"),
        ("sort_by=last_tested_at&sort_order=asc", "datasource_org_tested_asc"),
    ],
)
def test_sorted_pages_are_read_in_index_order(organization: Organization, query: str, index: str) -> None:
    queryset = list_queryset(organization, query)[:20]  # type: ignore[index]
    plan = plan_of(queryset, no_sort=True)
    assert any(name in plan for name in index.split("|")), plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
