"""Structured request logging: one JSON line per request, request ids, no secrets in logs."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from datasources.api.views import DataSourceViewSet
from organizations.models import Role
from rivergen.api.exceptions import INTERNAL_MESSAGE
from rivergen.logging import JSONFormatter, PlainFormatter
from tests.conftest import DATA_SOURCES_URL, assert_error, assert_success, detail_url
from tests.factories import MembershipFactory

BASE_DIR = Path(__file__).resolve().parents[2]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
REQUEST_LINE_KEYS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "organization_id",
}


def request_records(caplog):
    return [record for record in caplog.records if record.name == "rivergen.request"]


def test_each_request_writes_one_json_line(member_client, organization, caplog):
    caplog.set_level(logging.INFO)
    client = member_client(Role.VIEWER, organization)
    response = client.get(DATA_SOURCES_URL, {"page": 1})
    assert_success(response, 200, "Data sources retrieved successfully")

    [record] = request_records(caplog)
    line = JSONFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) == REQUEST_LINE_KEYS
    assert TIMESTAMP.fullmatch(entry["time"])
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    assert {key: entry[key] for key in REQUEST_LINE_KEYS - {"time", "duration_ms", "message"}} == {
        "level": "INFO",
        "logger": "rivergen.request",
        "request_id": response["X-Request-ID"],
        "method": "GET",
        "path": DATA_SOURCES_URL,  # never the query string
        "status": 200,
        "user_id": client.user.pk,
        "organization_id": organization.pk,
    }
    assert entry["message"].startswith(f"GET {DATA_SOURCES_URL} 200 ")


def test_the_organization_logged_is_the_one_the_request_acted_in(
    member_client, organization, other_organization, caplog
):
    caplog.set_level(logging.INFO)
    client = member_client(Role.ADMIN, organization)
    MembershipFactory.create(user=client.user, organization=other_organization, role=Role.VIEWER)
    response = client.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=str(other_organization.pk))
    assert_success(response, 200, "Data sources retrieved successfully")
    assert [record.organization_id for record in request_records(caplog)] == [other_organization.pk]


def test_an_anonymous_request_logs_no_user_or_organization(db, caplog):
    caplog.set_level(logging.INFO)
    response = APIClient().get(DATA_SOURCES_URL)
    assert_error(response, 401, "UNAUTHORIZED")
    [record] = request_records(caplog)
    assert (record.status, record.user_id, record.organization_id) == (401, None, None)
    assert record.request_id == response["X-Request-ID"]


@pytest.mark.parametrize("request_id", ["edge-7f3a.1_b", "a" * 128, "0"])
def test_a_valid_incoming_request_id_is_kept_and_echoed(db, caplog, request_id):
    caplog.set_level(logging.INFO)
    response = APIClient().get(DATA_SOURCES_URL, HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id
    assert [record.request_id for record in request_records(caplog)] == [request_id]


@pytest.mark.parametrize("request_id", ["", "a" * 129, "has space", "semi;colon", 'quote"d', "ünï"])
def test_an_invalid_incoming_request_id_is_replaced(db, caplog, request_id):
    caplog.set_level(logging.INFO)
    response = APIClient().get(DATA_SOURCES_URL, HTTP_X_REQUEST_ID=request_id)
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    assert [record.request_id for record in request_records(caplog)] == [response["X-Request-ID"]]


def test_records_after_the_request_carry_no_request_id(db, caplog):
    caplog.set_level(logging.INFO)
    APIClient().get("/healthz")
    logging.getLogger("rivergen.test").info("between requests")
    assert caplog.records[-1].request_id is None


@pytest.mark.owasp("API3")
def test_credentials_and_tokens_never_reach_the_log(member_client, organization, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    client = member_client(Role.ADMIN, organization)
    token = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    password, new_password = "pw-Ultra-Secret-41f3", "pw-Rotated-Secret-9c2e"
    private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA-secret-body\n"
    query_secret = "query-secret-token-7d1c"
    payload = {
        "workspace_id": workspace.pk,
        "name": "Warehouse replica",
        "type": "postgresql",
        "host": "replica.internal",
        "database_name": "warehouse",
        "username": "reader",
        "password": password,
        "use_ssh_tunnel": True,
        "ssh_host": "bastion.internal",
        "ssh_username": "tunnel",
        "ssh_private_key": private_key,
    }

    created = assert_success(
        client.post(DATA_SOURCES_URL, payload, format="json"), 201, "Data source created successfully"
    )
    assert_success(
        client.patch(detail_url(created["id"]), {"password": new_password}, format="json"),
        200,
        "Data source updated successfully",
    )
    # Rejected writes and query strings are not logged either.
    assert_error(client.post(DATA_SOURCES_URL, {**payload, "port": 0}, format="json"), 400, "VALIDATION_ERROR")
    assert_error(client.post(DATA_SOURCES_URL, payload, format="json"), 409, "CONFLICT")
    assert_success(
        client.get(DATA_SOURCES_URL, {"search": query_secret, "access_token": query_secret}),
        200,
        "Data sources retrieved successfully",
    )

    assert [(record.method, record.status) for record in request_records(caplog)] == [
        ("POST", 201),
        ("PATCH", 200),
        ("POST", 400),
        ("POST", 409),
        ("GET", 200),
    ]
    lines = [caplog.text]
    for record in caplog.records:
        lines += [JSONFormatter().format(record), PlainFormatter().format(record), repr(vars(record))]
    logged = "\n".join(lines)
    for secret in (password, new_password, "b3BlbnNzaC1rZXktdjEAAAA-secret-body", query_secret, token):
        assert secret not in logged
    assert "Bearer" not in logged


def test_an_unhandled_exception_is_logged_with_its_request_id_and_answered_with_the_500_envelope(
    member_client, organization, monkeypatch, caplog
):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("internal detail: SELECT secret FROM somewhere")

    monkeypatch.setattr(DataSourceViewSet, "list", explode)
    client = member_client(Role.ADMIN, organization)
    response = client.get(DATA_SOURCES_URL)

    assert assert_error(response, 500, "INTERNAL_ERROR") is None
    assert response.json()["message"] == INTERNAL_MESSAGE
    assert "internal detail" not in response.content.decode()
    request_id = response["X-Request-ID"]

    [error] = [record for record in caplog.records if record.name == "rivergen.api"]
    entry = json.loads(JSONFormatter().format(error))
    assert (entry["level"], entry["request_id"]) == ("ERROR", request_id)
    assert "Traceback" in entry["exc_info"]
    assert "RuntimeError: internal detail" in entry["exc_info"]

    [line] = request_records(caplog)
    assert (line.levelno, line.status, line.request_id) == (logging.ERROR, 500, request_id)
    # Django's own "Internal Server Error" line, written after the middleware returns.
    [django_line] = [record for record in caplog.records if record.name == "django.request"]
    assert django_line.request_id == request_id


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"DEBUG": "false"}, "json"),
        ({"DEBUG": "true"}, "plain"),
        ({"DEBUG": "false", "LOG_FORMAT": "plain"}, "plain"),
        ({"DEBUG": "true", "LOG_FORMAT": "json"}, "json"),
    ],
)
def test_log_format_defaults_to_json_unless_debug(environment, expected):
    script = (
        "import django, logging; django.setup(); logging.getLogger('rivergen.probe').warning('configured %s', 'ok')"
    )
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "LOG_FORMAT", "LOG_LEVEL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="rivergen.settings",
        SECRET_KEY="subprocess-only-secret-key-for-the-logging-format-test-0123456789",
        **environment,
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    if expected == "json":
        entry = json.loads(line)
        assert {key: entry[key] for key in ("level", "logger", "message", "request_id")} == {
            "level": "WARNING",
            "logger": "rivergen.probe",
            "message": "configured ok",
            "request_id": None,
        }
    else:
        assert line.endswith(" WARNING rivergen.probe [-] configured ok")


def test_an_unknown_log_format_is_refused():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rivergen.settings", "DEBUG": "true", "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be json or plain." in result.stderr


@pytest.mark.parametrize(
    ("message", "extra"),
    [
        ("GET /api/v1/data-sources 200 1.20ms", {"status": 200, "duration_ms": 1.2, "user_id": None}),
        ("Données « bien » reçues: 日本", {"path": "/api/v1/data-sources/é"}),
        ("a lone surrogate: \ud800", {"path": "/\udcff"}),
        ("a huge number", {"count": 2**70}),
    ],
)
def test_every_json_line_is_ascii_and_reads_back_exactly(message, extra):
    record = logging.LogRecord("rivergen.request", logging.INFO, __file__, 1, "%s", (message,), None)
    record.__dict__.update(extra)

    line = JSONFormatter().format(record)

    assert line.isascii() and "\n" not in line
    assert ", " not in line.replace(message, "") and '": ' not in line  # one compact style either way
    entry = json.loads(line)
    assert entry["message"] == message
    assert {key: entry[key] for key in extra} == extra


class Milliseconds(float):
    pass


def test_a_float_subclass_is_written_as_a_number() -> None:
    record = logging.LogRecord("rivergen.request", logging.INFO, __file__, 1, "done", None, None)
    record.duration_ms = Milliseconds(2.5)

    assert json.loads(JSONFormatter().format(record))["duration_ms"] == 2.5
