"""The error envelope for every failure: routes, methods, bodies, throttling, server errors."""

import io
import logging
from typing import Any

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from rest_framework.test import APIClient

from datasources import services
from datasources.models import DataSource
from organizations.models import Role
from rivergen.api import renderers
from rivergen.api.pagination import EnvelopePagination
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, assert_error, assert_success, detail_url
from tests.factories import TEST_PASSWORD, DataSourceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API8")]

TOKEN_URL = "/api/v1/auth/token"
ONE_MIB = 1024 * 1024
LEAKY_MESSAGE = 'boom: SELECT "password" FROM "datasources_datasource" WHERE secret = 1'


def create_body(workspace: Any, **overrides: Any) -> dict[str, Any]:
    return {"workspace_id": workspace.id, "name": "Orders", "type": "csv", "file_path": "/data/orders.csv", **overrides}


def assert_no_leak(response: Any, *secrets: str) -> None:
    text = response.content.decode()
    for secret in ("Traceback", "SELECT", 'File "', *secrets):
        assert secret not in text


# --- 404: unknown routes under /api/ ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/api/v2/x",
        "/api/v2/data-sources",
        "/api/v1/nope",
        "/api/v1/nope/",
        "/api/v1/data-sources/1/extra",
        "/api/v1/workspaces/1/data-sources",
        "/api/v1/auth",
        "/api/anything/deeper/still",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete", "patch", "put"])
def test_unknown_api_routes_are_not_found(admin_client_api, path, method):
    response = getattr(admin_client_api, method)(path, {}, format="json")

    assert assert_error(response, 404, "NOT_FOUND") is None
    assert response.json()["message"] == "No API route matches this path."


def test_unknown_api_routes_are_not_found_without_a_token():
    assert_error(APIClient().get("/api/v1/nope"), 404, "NOT_FOUND")


@pytest.mark.parametrize("lookup", ["abc", "-1", "0", "1.5", "%C2%B2", "1%0A", "9" * 30, "9" * 5000])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_ids_that_are_not_positive_bigints_answer_like_a_missing_id(admin_client_api, lookup, method):
    missing = getattr(admin_client_api, method)(detail_url(999_999), {}, format="json")
    response = getattr(admin_client_api, method)(detail_url(lookup), {}, format="json")

    assert assert_error(response, 404, "NOT_FOUND") is None
    assert response.json() == missing.json()
    assert response.json()["message"] == "Data source not found."


def test_ids_that_are_not_positive_bigints_still_need_a_token():
    response = APIClient().get(detail_url("abc"))
    assert_error(response, 401, "UNAUTHORIZED")


# --- 405: wrong methods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", DATA_SOURCES_URL, "GET, POST, HEAD, OPTIONS"),
        ("put", DATA_SOURCES_URL, "GET, POST, HEAD, OPTIONS"),
        ("patch", DATA_SOURCES_URL, "GET, POST, HEAD, OPTIONS"),
        ("delete", f"{DATA_SOURCES_URL}/", "GET, POST, HEAD, OPTIONS"),
        ("put", detail_url(1), "GET, PATCH, DELETE, HEAD, OPTIONS"),
        ("post", detail_url(1), "GET, PATCH, DELETE, HEAD, OPTIONS"),
        ("put", f"{detail_url(1)}/", "GET, PATCH, DELETE, HEAD, OPTIONS"),
        ("post", WORKSPACES_URL, "GET, HEAD, OPTIONS"),
        ("delete", f"{WORKSPACES_URL}/1", "GET, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_is_method_not_allowed_with_allow_header(admin_client_api, method, path, allow):
    response = getattr(admin_client_api, method)(path, {}, format="json")

    assert assert_error(response, 405, "METHOD_NOT_ALLOWED") is None
    assert response["Allow"] == allow


@pytest.mark.parametrize("path", [TOKEN_URL, f"{TOKEN_URL}/", f"{TOKEN_URL}/refresh"])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_token_routes_only_accept_post(path, method):
    response = getattr(APIClient(), method)(path)

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "POST, OPTIONS"


# --- 415: bodies that are not JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("name=Orders&type=csv", "application/x-www-form-urlencoded"),
        ("hello", "text/plain"),
        ("<name>Orders</name>", "application/xml"),
        ("name,type\nOrders,csv", "text/csv"),
    ],
)
def test_non_json_bodies_are_unsupported_media_type(admin_client_api, workspace, body, content_type):
    response = admin_client_api.post(DATA_SOURCES_URL, body, content_type=content_type)

    assert assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE") is None
    assert DataSource.objects.count() == 0


def test_multipart_form_body_is_unsupported_media_type(admin_client_api, workspace):
    response = admin_client_api.post(DATA_SOURCES_URL, create_body(workspace), format="multipart")

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert DataSource.objects.count() == 0


def test_patch_with_a_form_body_is_unsupported_media_type(admin_client_api, workspace):
    source = DataSourceFactory.create(workspace=workspace, name="Unchanged")

    response = admin_client_api.patch(detail_url(source.id), "name=Changed", content_type="text/plain")

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    source.refresh_from_db()
    assert source.name == "Unchanged"


def test_token_endpoint_with_a_form_body_is_unsupported_media_type():
    user = UserFactory.create()

    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": TEST_PASSWORD}, format="multipart")

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


# --- 400: malformed JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"name": ', id="truncated"),
        pytest.param(b"{'name': 'single quotes'}", id="single-quotes"),
        pytest.param(b'{"port": NaN}', id="nan"),
        pytest.param(b'{"port": Infinity}', id="infinity"),
        pytest.param(b'{"name": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested-lists"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deeply-nested-objects"),
    ],
)
def test_malformed_json_is_a_validation_error_on_body(admin_client_api, body):
    response = admin_client_api.post(DATA_SOURCES_URL, body, content_type="application/json")

    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(details) == ["body"]
    assert len(details["body"]) == 1
    assert details["body"][0].startswith("JSON parse error")


def test_malformed_json_on_patch_is_a_validation_error(admin_client_api, workspace):
    source = DataSourceFactory.create(workspace=workspace)

    response = admin_client_api.patch(detail_url(source.id), b'{"name": "x",}', content_type="application/json")

    assert list(assert_error(response, 400, "VALIDATION_ERROR")) == ["body"]


def test_malformed_json_on_the_token_endpoint_is_a_validation_error():
    response = APIClient().post(TOKEN_URL, b'{"username": ', content_type="application/json")

    assert list(assert_error(response, 400, "VALIDATION_ERROR")) == ["body"]


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '[{"name": "x"}]', '"a string"', "42", "true"])
def test_json_that_is_not_an_object_is_a_validation_error(admin_client_api, body):
    response = admin_client_api.post(DATA_SOURCES_URL, body, content_type="application/json")

    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(details) == ["non_field_errors"]
    assert details["non_field_errors"][0].startswith("Invalid data. Expected a dictionary")


def test_json_null_body_is_a_validation_error(admin_client_api):
    response = admin_client_api.post(DATA_SOURCES_URL, "null", content_type="application/json")

    assert assert_error(response, 400, "VALIDATION_ERROR") == {"non_field_errors": ["No data provided"]}


def test_json_list_on_patch_is_a_validation_error(admin_client_api, workspace):
    source = DataSourceFactory.create(workspace=workspace)

    response = admin_client_api.patch(detail_url(source.id), [{"name": "x"}], format="json")

    assert list(assert_error(response, 400, "VALIDATION_ERROR")) == ["non_field_errors"]


def test_json_list_on_the_token_endpoint_is_a_validation_error():
    response = APIClient().post(TOKEN_URL, [{"username": "a", "password": "b"}], format="json")

    assert list(assert_error(response, 400, "VALIDATION_ERROR")) == ["non_field_errors"]


# --- 413: body over 1 MiB ---------------------------------------------------------------------


def _json_of_size(size: int) -> bytes:
    """A JSON object of exactly `size` bytes (padding in a description)."""
    skeleton = b'{"description": ""}'
    return b'{"description": "' + b"x" * (size - len(skeleton)) + b'"}'


@pytest.mark.owasp("API4")
def test_body_over_one_mib_is_payload_too_large(admin_client_api, workspace):
    response = admin_client_api.post(DATA_SOURCES_URL, _json_of_size(ONE_MIB + 1), content_type="application/json")

    assert assert_error(response, 413, "PAYLOAD_TOO_LARGE") is None
    assert DataSource.objects.count() == 0


@pytest.mark.owasp("API4")
def test_body_of_exactly_one_mib_is_parsed(admin_client_api, workspace):
    body = _json_of_size(ONE_MIB)
    assert len(body) == ONE_MIB

    response = admin_client_api.post(DATA_SOURCES_URL, body, content_type="application/json")

    # Parsed, then refused by field validation: the size itself is accepted.
    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert {"workspace_id", "name", "type"} <= set(details)


@pytest.mark.owasp("API4")
def test_patch_body_over_one_mib_is_payload_too_large(admin_client_api, workspace):
    source = DataSourceFactory.create(workspace=workspace, description="before")

    response = admin_client_api.patch(
        detail_url(source.id), _json_of_size(2 * ONE_MIB), content_type="application/json"
    )

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    source.refresh_from_db()
    assert source.description == "before"


@pytest.mark.owasp("API4")
def test_token_body_over_one_mib_is_payload_too_large():
    response = APIClient().post(TOKEN_URL, _json_of_size(ONE_MIB + 10), content_type="application/json")

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


# --- Chunked bodies (Transfer-Encoding: chunked, no Content-Length) ---------------------------


def _chunked(body: bytes, *, terminated: bool = True) -> dict[str, Any]:
    """The environ a WSGI server gives for a chunked body: decoded input, no CONTENT_LENGTH;
    gunicorn says with wsgi.input_terminated that reading to the end is safe."""
    environ: dict[str, Any] = {"wsgi.input": io.BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked"}
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


@pytest.mark.owasp("API4")
def test_chunked_patch_is_applied(admin_client_api, workspace):
    source = DataSourceFactory.create(workspace=workspace, description="before")

    response = admin_client_api.generic(
        "PATCH", detail_url(source.id), content_type="application/json", **_chunked(b'{"description": "after"}')
    )

    assert_success(response, 200, "Data source updated successfully")
    source.refresh_from_db()
    assert source.description == "after"


@pytest.mark.owasp("API4")
def test_chunked_body_over_one_mib_is_payload_too_large(admin_client_api, workspace):
    response = admin_client_api.generic(
        "POST", DATA_SOURCES_URL, content_type="application/json", **_chunked(_json_of_size(ONE_MIB + 1))
    )

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert DataSource.objects.count() == 0


@pytest.mark.owasp("API4")
def test_chunked_body_a_server_does_not_end_is_refused_not_dropped(admin_client_api, workspace):
    # runserver hands over the raw stream: reading it to the end could wait forever.
    source = DataSourceFactory.create(workspace=workspace, description="before")

    response = admin_client_api.generic(
        "PATCH",
        detail_url(source.id),
        content_type="application/json",
        **_chunked(b'{"description": "after"}', terminated=False),
    )

    assert assert_error(response, 400, "VALIDATION_ERROR") == {
        "request": ["Send the request body with a Content-Length header: this server cannot read a chunked body."]
    }
    source.refresh_from_db()
    assert source.description == "before"


# --- 429: throttling ---------------------------------------------------------------------------


@pytest.fixture
def tiny_throttle_rates(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/min", "user": "3/min"}}


def assert_rate_limited(response: Any) -> None:
    assert assert_error(response, 429, "RATE_LIMITED") is None
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60


@pytest.mark.owasp("API4")
@pytest.mark.usefixtures("tiny_throttle_rates")
def test_authenticated_requests_over_the_rate_are_rate_limited(admin_client_api):
    for _ in range(3):
        assert_success(admin_client_api.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    assert_rate_limited(admin_client_api.get(DATA_SOURCES_URL))
    assert_rate_limited(admin_client_api.get(WORKSPACES_URL))


@pytest.mark.owasp("API4")
@pytest.mark.usefixtures("tiny_throttle_rates")
def test_rate_limits_are_per_user(member_client, organization):
    first = member_client(Role.VIEWER, organization)
    second = member_client(Role.VIEWER, organization)
    for _ in range(3):
        first.get(DATA_SOURCES_URL)
    assert_rate_limited(first.get(DATA_SOURCES_URL))

    assert_success(second.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")


@pytest.mark.owasp("API4")
@pytest.mark.usefixtures("tiny_throttle_rates")
def test_anonymous_token_requests_over_the_rate_are_rate_limited():
    user = UserFactory.create()
    client = APIClient()
    body = {"username": user.username, "password": "wrong-password"}
    for _ in range(2):
        assert_error(client.post(TOKEN_URL, body, format="json"), 401, "UNAUTHORIZED")

    assert_rate_limited(client.post(TOKEN_URL, {**body, "password": TEST_PASSWORD}, format="json"))


# --- 500: unexpected errors ----------------------------------------------------------------


def test_unexpected_exception_is_an_internal_error_without_details(admin_client_api, monkeypatch, caplog):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(LEAKY_MESSAGE)

    monkeypatch.setattr(EnvelopePagination, "paginate_queryset", explode)

    with caplog.at_level(logging.ERROR, logger="rivergen.api"):
        response = admin_client_api.get(DATA_SOURCES_URL)

    assert assert_error(response, 500, "INTERNAL_ERROR") is None
    assert response.json()["message"] == "An unexpected error occurred. It has been logged."
    assert_no_leak(response, "boom", "RuntimeError", "secret")
    # "It has been logged": with the traceback, for the operators.
    assert any(record.exc_info and record.exc_info[0] is RuntimeError for record in caplog.records)


def test_unexpected_database_error_hides_the_sql(admin_client_api, monkeypatch):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ProgrammingError(LEAKY_MESSAGE)

    monkeypatch.setattr(EnvelopePagination, "paginate_queryset", explode)

    response = admin_client_api.get(DATA_SOURCES_URL)

    assert_error(response, 500, "INTERNAL_ERROR")
    assert_no_leak(response, "boom", "ProgrammingError", "password")


def test_unexpected_exception_on_a_write_is_an_internal_error(admin_client_api, workspace, monkeypatch):
    def explode(**kwargs: Any) -> Any:
        raise KeyError(LEAKY_MESSAGE)

    monkeypatch.setattr(services, "datasource_create", explode)

    response = admin_client_api.post(DATA_SOURCES_URL, create_body(workspace, password="s3cr3t-pw"), format="json")

    assert_error(response, 500, "INTERNAL_ERROR")
    assert_no_leak(response, "boom", "s3cr3t-pw")


def test_failure_outside_the_api_views_is_still_an_enveloped_internal_error(admin_client_api, monkeypatch):
    """Rendering happens after the view: Django's own 500 handler answers, in the envelope."""

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(LEAKY_MESSAGE)

    monkeypatch.setattr(renderers.JSONRenderer, "render", explode)
    admin_client_api.raise_request_exception = False

    response = admin_client_api.get(DATA_SOURCES_URL)

    assert assert_error(response, 500, "INTERNAL_ERROR") is None
    assert_no_leak(response, "boom")


def test_disallowed_host_under_the_api_is_an_enveloped_bad_request(admin_client_api):
    response = admin_client_api.get(DATA_SOURCES_URL, HTTP_HOST="evil.example.com")

    # VALIDATION_ERROR's details always map a field to messages; here the request itself.
    assert assert_error(response, 400, "VALIDATION_ERROR") == {
        "request": ["The request could not be understood (for example, its Host)."]
    }
    assert "evil.example.com" not in response.content.decode()


# --- 503: database unavailable --------------------------------------------------------------------


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_database_unreachable_is_service_unavailable(admin_client_api, monkeypatch, error_class):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise error_class('could not connect to server "db.internal" (10.0.0.5), port 5432: Connection refused')

    monkeypatch.setattr(EnvelopePagination, "paginate_queryset", explode)

    response = admin_client_api.get(DATA_SOURCES_URL)

    assert assert_error(response, 503, "SERVICE_UNAVAILABLE") is None
    assert int(response["Retry-After"]) >= 1
    assert_no_leak(response, "db.internal", "10.0.0.5", "Connection refused")


def test_database_unreachable_while_identifying_the_caller_is_service_unavailable(admin_client_api, monkeypatch):
    # Bearer tokens are verified without the database; the caller's membership (and
    # active account) is the first read.
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("rivergen.api.tenancy.resolve_current_membership", explode)

    response = admin_client_api.get(DATA_SOURCES_URL)

    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response["Retry-After"]) >= 1


def test_database_unreachable_on_token_obtain_is_service_unavailable(monkeypatch):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("django.contrib.auth.backends.ModelBackend.authenticate", explode)

    response = APIClient().post(TOKEN_URL, {"username": "someone", "password": "secret"}, format="json")

    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response["Retry-After"]) >= 1


# --- 409: integrity errors -----------------------------------------------------------------------


def test_integrity_error_from_the_database_is_a_conflict(admin_client_api, workspace, monkeypatch):
    """A uniqueness race the service does not recognise still answers 409, from the real database."""
    DataSourceFactory.create(workspace=workspace, name="Orders")
    monkeypatch.setattr(services, "NAME_UNIQUE_CONSTRAINT", "constraint-the-service-does-not-know")

    response = admin_client_api.post(DATA_SOURCES_URL, create_body(workspace, name="ORDERS"), format="json")

    assert assert_error(response, 409, "CONFLICT") is None
    assert_no_leak(response, "datasource_name_unique_per_organization_ci", "duplicate key", "UNIQUE constraint")
    assert DataSource.objects.filter(name__iexact="orders").count() == 1


def test_integrity_error_raised_anywhere_is_a_conflict_without_details(admin_client_api, workspace, monkeypatch):
    source = DataSourceFactory.create(workspace=workspace)

    def explode(**kwargs: Any) -> Any:
        raise IntegrityError('duplicate key value violates unique constraint "x"\nDETAIL: Key (name)=(secret)')

    monkeypatch.setattr(services, "datasource_delete", explode)

    response = admin_client_api.delete(detail_url(source.id))

    assert assert_error(response, 409, "CONFLICT") is None
    assert_no_leak(response, "duplicate key", "DETAIL", "secret")


# --- Content negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/csv", "application/xml", "image/png", "nonsense", "*/*", ""])
def test_odd_accept_header_still_gets_json(admin_client_api, workspace, accept):
    DataSourceFactory.create(workspace=workspace)

    response = admin_client_api.get(DATA_SOURCES_URL, HTTP_ACCEPT=accept)

    data = assert_success(response, 200, "Data sources retrieved successfully")
    assert data["pagination"]["total_items"] == 1


@pytest.mark.parametrize("accept", ["text/csv", "application/xml"])
def test_odd_accept_header_still_gets_json_errors(accept):
    response = APIClient().get(DATA_SOURCES_URL, HTTP_ACCEPT=accept)

    assert_error(response, 401, "UNAUTHORIZED")


def test_every_error_kind_answers_json_with_utf8_charset(admin_client_api):
    """One walk over each error status: all share the content type (assert_error checks it)."""
    cases = [
        (APIClient().get(DATA_SOURCES_URL), 401, "UNAUTHORIZED"),
        (admin_client_api.get(DATA_SOURCES_URL, {"page": "0"}), 400, "VALIDATION_ERROR"),
        (admin_client_api.get(detail_url(999_999)), 404, "NOT_FOUND"),
        (admin_client_api.get("/api/v1/nope"), 404, "NOT_FOUND"),
        (admin_client_api.put(detail_url(1), {}, format="json"), 405, "METHOD_NOT_ALLOWED"),
        (admin_client_api.post(DATA_SOURCES_URL, "x", content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            admin_client_api.post(DATA_SOURCES_URL, _json_of_size(ONE_MIB + 1), content_type="application/json"),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ]
    for response, status, code in cases:
        assert_error(response, status, code)


def test_disallowed_host_under_a_script_prefix_is_still_the_apis_enveloped_bad_request(admin_client_api):
    # Behind a proxy mounting the service at /prefix, routing (and the API check) sees path_info.
    response = admin_client_api.get(DATA_SOURCES_URL, HTTP_HOST="evil.example.com", SCRIPT_NAME="/prefix")

    assert assert_error(response, 400, "VALIDATION_ERROR") == {
        "request": ["The request could not be understood (for example, its Host)."]
    }
