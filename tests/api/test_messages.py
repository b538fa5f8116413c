"""Django's messages are for pages (the admin's): API requests neither set them up nor consume them."""

import pytest
from django.contrib import messages
from django.contrib.messages.api import MessageFailure
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from datasources.models import DataSourceStatus
from rivergen.middleware import PageMessageMiddleware
from tests.conftest import DATA_SOURCES_URL
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:datasources_datasource_changelist")


def test_an_api_request_has_no_message_storage(admin_client_api):
    response = admin_client_api.get(DATA_SOURCES_URL)

    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "_messages")
    with pytest.raises(MessageFailure):
        messages.info(response.wsgi_request, "never shown")


def test_an_admin_message_waits_through_api_requests_for_the_next_page(admin_client):
    source = DataSourceFactory.create()
    admin_client.post(CHANGELIST, {"action": "mark_as_maintenance", "_selected_action": [source.pk], "index": 0})

    # The same browser session calls the API in between (session auth; this superuser is
    # no organization's member, so the API refuses it, with its own JSON error).
    assert admin_client.get(DATA_SOURCES_URL).status_code == 403
    assert admin_client.get("/api/v1/data-sources/1").status_code == 403
    page = admin_client.get(CHANGELIST)

    source.refresh_from_db()
    assert source.status == DataSourceStatus.MAINTENANCE
    assert [str(message) for message in page.context["messages"]] == ["1 data source marked as maintenance."]
    assert list(admin_client.get(CHANGELIST).context["messages"]) == []


@pytest.mark.parametrize("path", ["/admin/", "/api-auth/login/", "/apiary", "/"])
def test_every_page_outside_the_api_gets_message_storage(rf: RequestFactory, path):
    request = rf.get(path)
    request.session = {}  # type: ignore[assignment]

    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(hasattr(request, "_messages"))
        return HttpResponse()

    PageMessageMiddleware(view)(request)

    assert seen == [True]
