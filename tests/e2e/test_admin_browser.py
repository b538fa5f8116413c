"""Operators using the data-source admin in a real browser (headless Chromium).

Set ADMIN_SCREENSHOT=docs/admin-datasources.png to refresh the documentation's
screenshot of the filtered change list.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from datasources.models import DataSource, DataSourceStatus, DataSourceType
from tests.factories import TEST_PASSWORD, DataSourceFactory, OrganizationFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.e2e

CHANGELIST = "/admin/datasources/datasource/"
STORED_PASSWORD = "s3cret-never-shown"


@pytest.fixture
def catalog() -> dict[str, DataSource]:
    """Two organizations' data sources of several types, statuses, tags and test times."""
    now = timezone.now()
    acme = OrganizationFactory.create(name="Acme Analytics", slug="acme")
    globex = OrganizationFactory.create(name="Globex Corporation", slug="globex")
    finance = WorkspaceFactory.create(organization=acme, name="Finance")
    marketing = WorkspaceFactory.create(organization=acme, name="Marketing")
    operations = WorkspaceFactory.create(organization=globex, name="Operations")
    rows = [
        ("Orders warehouse", finance, DataSourceType.POSTGRESQL, DataSourceStatus.ACTIVE, ["finance", "prod"], 2),
        ("Billing replica", finance, DataSourceType.POSTGRESQL, DataSourceStatus.ACTIVE, ["finance"], 72),
        ("Ledger archive", finance, DataSourceType.POSTGRESQL, DataSourceStatus.MAINTENANCE, ["finance"], None),
        ("Campaign events", marketing, DataSourceType.MYSQL, DataSourceStatus.ACTIVE, ["marketing"], 5),
        ("Web analytics", marketing, DataSourceType.BIGQUERY, DataSourceStatus.FAILED, ["marketing"], 1),
        ("Fleet telemetry", operations, DataSourceType.POSTGRESQL, DataSourceStatus.ACTIVE, ["ops", "prod"], 30),
        ("Inventory", operations, DataSourceType.MYSQL, DataSourceStatus.INACTIVE, [], None),
    ]
    return {
        name: DataSourceFactory.create(
            name=name,
            workspace=workspace,
            type=kind,
            status=status,
            tags=tags,
            last_tested_at=None if hours_ago is None else now - timedelta(hours=hours_ago),
            username="reporting",
            password=STORED_PASSWORD,
        )
        for name, workspace, kind, status, tags, hours_ago in rows
    }


@pytest.fixture
def operator() -> Any:
    return UserFactory.create(username="operator", is_staff=True, is_superuser=True)


def listed_names(**filters: Any) -> list[str]:
    """The names the change list shows for these filters, in its order (newest first)."""
    return list(DataSource.objects.filter(**filters).order_by("-created_at", "-id").values_list("name", flat=True))


def result_names(page: Page) -> Any:
    return page.locator("#result_list tbody th a")


def choose_filter(page: Page, title: str, choice: str) -> None:
    page.locator(f"#changelist-filter details[data-filter-title='{title}']").get_by_role(
        "link", name=choice, exact=True
    ).click()


def row(page: Page, name: str) -> Any:
    return page.locator("#result_list tbody tr").filter(has=page.get_by_role("link", name=name, exact=True))


def test_operator_filters_searches_and_opens_a_data_source(
    page: Page, log_in: Any, operator: Any, catalog: dict[str, DataSource]
) -> None:
    log_in("operator", TEST_PASSWORD)
    page.get_by_role("rowheader", name="Data sources").get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"{CHANGELIST}$"))
    expect(result_names(page)).to_have_text(listed_names())

    choose_filter(page, "type", "PostgreSQL")
    expect(result_names(page)).to_have_text(listed_names(type=DataSourceType.POSTGRESQL))
    choose_filter(page, "status", "Active")
    expected = listed_names(type=DataSourceType.POSTGRESQL, status=DataSourceStatus.ACTIVE)
    assert sorted(expected) == ["Billing replica", "Fleet telemetry", "Orders warehouse"]
    expect(result_names(page)).to_have_text(expected)
    expect(page.locator("#changelist-filter li.selected")).to_contain_text(["PostgreSQL", "Active"])
    if screenshot := os.environ.get("ADMIN_SCREENSHOT"):
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot, full_page=True)

    # The search keeps the filters: only the active PostgreSQL source named "orders".
    page.locator("#searchbar").fill("orders")
    page.locator("#searchbar").press("Enter")
    expect(page).to_have_url(re.compile(r"q=orders"))
    expect(result_names(page)).to_have_text(["Orders warehouse"])

    result_names(page).first.click()
    expect(page.get_by_role("heading", name="Orders warehouse")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value("Orders warehouse")
    expect(page.locator("#id_password")).to_have_value("")
    assert STORED_PASSWORD not in page.content()
    # Server-owned fields are shown, not editable.
    expect(page.locator(".field-status .readonly")).to_have_text("Active")
    expect(page.locator("#id_status")).to_have_count(0)


def test_operator_filters_by_tag_and_by_last_test(
    page: Page, log_in: Any, operator: Any, catalog: dict[str, DataSource]
) -> None:
    log_in("operator", TEST_PASSWORD)
    page.goto(CHANGELIST)

    choose_filter(page, "tag", "finance")
    expect(result_names(page)).to_have_text(
        listed_names(name__in=["Orders warehouse", "Billing replica", "Ledger archive"])
    )
    choose_filter(page, "last tested", "Never")
    expect(result_names(page)).to_have_text(["Ledger archive"])
    choose_filter(page, "last tested", "In the last 24 hours")
    expect(result_names(page)).to_have_text(["Orders warehouse"])


def test_operator_marks_selected_data_sources_as_maintenance(
    page: Page, log_in: Any, operator: Any, catalog: dict[str, DataSource]
) -> None:
    log_in("operator", TEST_PASSWORD)
    page.goto(CHANGELIST)

    for name in ["Orders warehouse", "Campaign events", "Ledger archive"]:
        row(page, name).locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Mark as maintenance")
    page.get_by_role("button", name="Go").click()

    expect(page.locator("ul.messagelist li.success")).to_have_text(
        "2 data sources marked as maintenance. 1 was already maintenance."
    )
    for name in ["Orders warehouse", "Campaign events", "Ledger archive"]:
        expect(row(page, name).locator("td.field-status")).to_have_text("Maintenance")
    expect(row(page, "Billing replica").locator("td.field-status")).to_have_text("Active")

    statuses = dict(DataSource.objects.values_list("name", "status"))
    assert statuses == {
        "Orders warehouse": DataSourceStatus.MAINTENANCE,
        "Billing replica": DataSourceStatus.ACTIVE,
        "Ledger archive": DataSourceStatus.MAINTENANCE,
        "Campaign events": DataSourceStatus.MAINTENANCE,
        "Web analytics": DataSourceStatus.FAILED,
        "Fleet telemetry": DataSourceStatus.ACTIVE,
        "Inventory": DataSourceStatus.INACTIVE,
    }
    logged = LogEntry.objects.filter(user=operator, action_flag=CHANGE).values_list("object_repr", flat=True)
    assert sorted(logged) == ["Campaign events", "Orders warehouse"]


def test_staff_without_data_source_permissions_cannot_see_data_sources(
    page: Page, log_in: Any, catalog: dict[str, DataSource]
) -> None:
    staff = UserFactory.create(username="support", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_organization"))
    log_in("support", TEST_PASSWORD)

    expect(page.get_by_role("rowheader", name="Organizations")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Data sources")).to_have_count(0)
    expect(page.locator('a[href^="/admin/datasources/"]')).to_have_count(0)
    expect(page.get_by_text("Data sources")).to_have_count(0)

    response = page.goto(CHANGELIST)
    assert response is not None and response.status == 403
    response = page.goto(f"{CHANGELIST}{catalog['Orders warehouse'].pk}/change/")
    assert response is not None and response.status == 403
    assert "Orders warehouse" not in page.content()
