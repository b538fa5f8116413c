"""Reads of data sources that need more than a queryset."""

from collections.abc import Collection

from django.db.models import Sum
from django.db.models.functions import Coalesce

from datasources.models import DataSourceCount, DataSourceTagCount


def datasource_count(
    *,
    organization_id: int,
    workspace_id: int | None = None,
    types: Collection[str] = (),
    statuses: Collection[str] = (),
) -> int:
    """Exactly how many data sources match, from the trigger-kept counters.

    Equal to counting the rows of the organization with those filters, at the cost of
    summing at most workspaces x types x statuses counter rows.
    """
    counters = DataSourceCount.objects.filter(organization_id=organization_id)
    if workspace_id is not None:
        counters = counters.filter(workspace_id=workspace_id)
    if types:
        counters = counters.filter(type__in=types)
    if statuses:
        counters = counters.filter(status__in=statuses)
    total: int = counters.aggregate(total=Coalesce(Sum("count"), 0))["total"]
    return total


def datasource_tag_count(*, organization_id: int, tag: str) -> int:
    """Exactly how many data sources of the organization carry `tag`, from its counter.

    Equal to counting the rows the `contains_all` lookup matches for that one tag.
    """
    count: int | None = (
        DataSourceTagCount.objects.filter(organization_id=organization_id, tag=tag)
        .values_list("count", flat=True)
        .first()
    )
    return count or 0
