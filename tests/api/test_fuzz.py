"""Schemathesis fuzzes the API against its own OpenAPI schema (issue 5 §2).

The schema is the one the service serves (`/api/v1/schema?format=json`, the committed
openapi.yaml: see test_openapi.py), loaded from the WSGI application, and every case is a
request to that application, in process. Every check is on (`test_every_check_is_on`):
server errors, status code, content type, response headers and response schema
conformance, negative data rejection, positive data acceptance, ignored auth (an
authenticated success is replayed without and with a bad token) and unsupported methods,
plus Schemathesis's other built-in checks. Cases come in both generation modes, positive
(schema-valid) and negative (schema-violating), from the coverage phase (boundary values,
each enum value, missing and wrong-typed fields, the methods a path lacks) and from
Hypothesis fuzzing (the schema has no examples, so that phase adds none).

Who asks: the token endpoints are fuzzed anonymously; every other operation as an admin,
an editor and a viewer of an organization with two workspaces and three data sources,
beside a second organization with a workspace and data sources of its own (the admin is
a viewer there too, so `X-Organization-ID` can switch to it). Generated ids are random
64-bit integers that name nothing, so `World.remap` swaps some for real ones: path ids,
`workspace_id` (query and body) and `X-Organization-ID` then name rows of the caller's
organization, of the other organization, or nothing.

Runs are bounded and reproducible: Hypothesis is derandomized, with no example database,
and fuzzes `MAX_EXAMPLES` cases per operation and identity besides the coverage cases.
Hypothesis and Schemathesis also draw constants from the project's imported modules, so
the cases depend on which test modules a run imports: every run of the whole suite (`make
test`, CI) sends the same cases, and `pytest tests -k fuzz` sends those too. The cases
sent, by identity, operation and mode, and the failures (0) are printed at the end of the
session (`FuzzSummary`).

What the checks are told, each for a reason (nothing else is relaxed):
- Throttling is lifted: hundreds of cases per operation from one client would otherwise
  be answered 429, which tests nothing here (tests/api/test_throttling.py tests it).
- Unknown query parameters and headers are not negative data: the contract ignores
  unknown query parameters (API.md §3) and HTTP ignores unknown header fields, so the
  generator adds none (`allow-extra-parameters: false`). Every declared one is negated.
- A positive case answered 400 is a failure unless every field error names a rule of the
  contract that the schema cannot state, true of the request sent (`UNDESCRIBED_RULES`).
- A negative case answered 2xx is a failure unless it is negative only by empty items in
  a comma-separated list parameter, which the server ignores (`LIST_PARAMETERS`).
"""

import json
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData

from datasources.models import MAX_TAG_LENGTH, DataSourceType
from organizations.models import Role
from rivergen.wsgi import application
from tests.factories import DataSourceFactory, MembershipFactory, OrganizationFactory, WorkspaceFactory

SCHEMA_URL = "/api/v1/schema?format=json"
MAX_BIGINT = 2**63 - 1
#: Fuzzed cases per operation and identity; the coverage phase adds its own (10 to 250).
MAX_EXAMPLES = 50
SEED = 20_250_105

#: The checks issue 5 names. Schemathesis's other built-in checks are on as well.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "ignored_auth",
    "unsupported_method",
)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "checks": {"enabled": True, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "allow-extra-parameters": False,
        },
    }
)

schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=CONFIG)


# --- The rows every case runs against ----------------------------------------------------


@dataclass
class World:
    """Two organizations' rows, the members' bearer tokens, and the ids cases are pointed at."""

    organization_id: int
    other_organization_id: int
    workspace_ids: list[int]
    other_workspace_ids: list[int]
    data_source_ids: list[int]
    other_data_source_ids: list[int]
    authorizations: dict[str, str] = field(default_factory=dict)

    def remap(self, case: Any) -> None:
        """Point the generated ids of `case` at real rows, or leave them, deterministically.

        Only valid ids are replaced, by valid ids, so a case stays as positive or negative
        as it was generated. Which one is a function of the case (so a failing case replays
        the same); the containers are assigned anew, so Schemathesis validates the case again.
        """
        pick = _Picker(repr((case.operation.label, case.path_parameters, case.query, case.headers, case.body)))
        # Own rows twice, so that about half of the cases act in the caller's organization.
        workspaces = [*self.workspace_ids, *self.workspace_ids, *self.other_workspace_ids]
        if case.path_parameters and "id" in case.path_parameters:
            if "data-sources" in case.path:
                rows = [*self.data_source_ids, *self.data_source_ids, *self.other_data_source_ids]
            else:
                rows = workspaces
            case.path_parameters = {**case.path_parameters, "id": pick("id", case.path_parameters["id"], rows)}
        if case.headers and "X-Organization-ID" in case.headers:
            organizations = [self.organization_id, self.organization_id, self.other_organization_id]
            organization = pick("organization", case.headers["X-Organization-ID"], organizations)
            case.headers = {**case.headers, "X-Organization-ID": organization}
        if case.query and "workspace_id" in case.query:
            case.query = {**case.query, "workspace_id": pick("query", case.query["workspace_id"], workspaces)}
        if isinstance(case.body, dict) and "workspace_id" in case.body:
            case.body = {**case.body, "workspace_id": pick("body", case.body["workspace_id"], workspaces)}


@dataclass
class _Picker:
    """Chooses among real ids and the generated one by a checksum of the case."""

    case: str

    def __call__(self, name: str, value: Any, pool: list[int]) -> Any:
        """One of `pool`, or `value` itself; anything but a valid id is kept."""
        number = int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value) else value
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_BIGINT:
            return value
        choices = [*pool, number]
        chosen = choices[zlib.crc32(f"{name}:{self.case}".encode(errors="backslashreplace")) % len(choices)]
        return str(chosen) if isinstance(value, str) else chosen


def build_world() -> World:
    organization = OrganizationFactory.create()
    other = OrganizationFactory.create()
    workspaces = WorkspaceFactory.create_batch(2, organization=organization)
    other_workspace = WorkspaceFactory.create(organization=other)
    data_sources = [
        DataSourceFactory.create(workspace=workspaces[0], tags=["prod", "finance"]),
        DataSourceFactory.create(
            workspace=workspaces[0],
            type=DataSourceType.CSV,
            host=None,
            port=None,
            database_name=None,
            file_path="/data/sales.csv",
        ),
        DataSourceFactory.create(
            workspace=workspaces[1], use_ssh_tunnel=True, ssh_host="bastion.example.com", ssh_port=22
        ),
    ]
    other_data_sources = DataSourceFactory.create_batch(2, workspace=other_workspace)
    world = World(
        organization_id=organization.pk,
        other_organization_id=other.pk,
        workspace_ids=[workspace.pk for workspace in workspaces],
        other_workspace_ids=[other_workspace.pk],
        data_source_ids=[data_source.pk for data_source in data_sources],
        other_data_source_ids=[data_source.pk for data_source in other_data_sources],
    )
    for role in Role:
        user = MembershipFactory.create(role=role, organization=organization).user
        if role == Role.ADMIN:
            # A later membership, so the first organization stays the admin's default.
            MembershipFactory.create(user=user, organization=other, role=Role.VIEWER)
        world.authorizations[role] = f"Bearer {RefreshToken.for_user(user).access_token}"
    return world


#: The world of the running test, for the `filter_failure` hook.
ACTIVE: dict[str, World] = {}


@pytest.fixture
def world(transactional_db: None, settings: Any) -> World:
    """Committed rows, as every case is a real request; throttling lifted (module doc).

    One world per test (operation and identity), kept for all of its cases: what a case
    creates, updates or deletes stays for the next ones, as it would for a client.
    """
    rest_framework = settings.REST_FRAMEWORK
    rates = rest_framework["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**rest_framework, "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates, "1000000/minute")}
    ACTIVE["world"] = build_world()
    return ACTIVE["world"]


# --- What the schema cannot state ----------------------------------------------------------

#: The fields each type requires, as API.md §4 lists them: "network types (every database
#: type but sqlite and bigquery) need host and database_name; bigquery needs database_name;
#: sqlite and the file types need file_path".
REQUIRED_BY_TYPE: dict[str, set[str]] = {
    **{
        kind: {"host", "database_name"}
        for kind in ("postgresql", "mysql", "mariadb", "sqlserver", "oracle", "redshift", "snowflake", "mongodb")
    },
    "bigquery": {"database_name"},
    **{kind: {"file_path"} for kind in ("sqlite", "csv", "excel", "json", "parquet")},
}

_MISSING = object()


def _blank(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and not value.strip())


def _tags(value: Any) -> list[str]:
    return [tag for tag in value if isinstance(tag, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Rule:
    """A 400 field error for a rule the schema does not state, and when it is the right answer.

    `holds(name, match, value, sent, world)` gets the field's name, the message's match, the
    field's value as sent (`_MISSING` if absent) and the whole body sent.
    """

    methods: frozenset[str]
    fields: str
    message: re.Pattern[str]
    holds: Callable[[str, re.Match[str], Any, dict[str, Any], World], bool]


WRITES = frozenset({"POST", "PATCH"})

#: 400 field errors for rules of the contract that the OpenAPI schema does not (cannot)
#: state, each with what must be true of the request for the 400 to be right:
#: - PATCH validates the row that results, stored fields included (API.md §4), so the
#:   fields a type or an SSH tunnel requires may be missing from a valid-looking body
#:   (the create body states those rules: `postprocess_data_source_rules`);
#: - `workspace_id` must be a workspace of the caller's organization (API.md §4): the schema
#:   says "an id", not which ids exist;
#: - strings are trimmed before their rules apply (API.md §4: "1..255 characters after
#:   trimming", tags "stored trimmed"), so a name of spaces is blank, and so is a refresh
#:   token of whitespace (tests/api/test_auth.py pins that 400);
#: - no string may hold a NUL character, which no database column stores (API.md §3 says so
#:   of `search`, whose schema states it with a pattern);
#: - tags are lower-cased, and then each must be printable and 1..50 characters long.
UNDESCRIBED_RULES = (
    Rule(
        frozenset({"PATCH"}),
        "host|database_name|file_path",
        re.compile(r"This field is required for type ([a-z]+)( \(the project id\))?\."),
        lambda name, match, value, sent, world: (
            name in REQUIRED_BY_TYPE.get(match[1], set())
            and (match[2] is not None) == (match[1] == "bigquery")  # "(the project id)"
            and sent.get("type", match[1]) == match[1]
            and _blank(value)
        ),
    ),
    Rule(
        frozenset({"PATCH"}),
        "ssh_host",
        re.compile(r"This field is required when use_ssh_tunnel is true\."),
        lambda name, match, value, sent, world: _blank(value) and sent.get("use_ssh_tunnel", True) is True,
    ),
    Rule(
        WRITES,
        "workspace_id",
        re.compile(r"No such workspace in your organization: ([0-9]+)\."),
        lambda name, match, value, sent, world: value == int(match[1]) and value not in world.workspace_ids,
    ),
    Rule(
        WRITES,
        "name|username|refresh",
        re.compile(r"This field may not be blank\."),
        lambda name, match, value, sent, world: isinstance(value, str) and not value.strip(),
    ),
    Rule(
        WRITES,
        ".+",
        re.compile(r"Null characters are not allowed\."),
        lambda name, match, value, sent, world: isinstance(value, str) and "\x00" in value,
    ),
    Rule(
        WRITES,
        "tags",
        re.compile(r"Tags cannot contain null characters\."),
        lambda name, match, value, sent, world: any("\x00" in tag for tag in _tags(value)),
    ),
    Rule(
        WRITES,
        "tags",
        re.compile(r"Tags must be printable text \(no control characters\)\."),
        lambda name, match, value, sent, world: any(not tag.strip().lower().isprintable() for tag in _tags(value)),
    ),
    Rule(
        WRITES,
        "tags",
        re.compile(rf"Each tag must be 1 to {MAX_TAG_LENGTH} characters long\."),
        lambda name, match, value, sent, world: any(
            not 1 <= len(tag.strip().lower()) <= MAX_TAG_LENGTH for tag in _tags(value)
        ),
    ),
)


def refused_for_undescribed_rules(case: Any, response: Any, world: World) -> bool:
    """Whether a 400 names only `UNDESCRIBED_RULES`, each true of the request sent."""
    if response.status_code != 400:
        return False
    error = json.loads(response.content).get("error") or {}
    details = error.get("details")
    if error.get("code") != "VALIDATION_ERROR" or not isinstance(details, dict) or not details:
        return False
    sent = case.body if isinstance(case.body, dict) else {}

    def explained(name: str, message: str) -> bool:
        value = sent.get(name, _MISSING)
        return any(
            case.method.upper() in rule.methods
            and re.fullmatch(rule.fields, name)
            and (match := rule.message.fullmatch(message))
            and rule.holds(name, match, value, sent, world)
            for rule in UNDESCRIBED_RULES
        )

    return all(explained(name, message) for name, messages in details.items() for message in messages)


#: Comma-separated list parameters. The server splits a value on commas, trims the items
#: and ignores empty ones (README: "empty values are ignored"), so `type=,,` asks what
#: `type=` does and `type=csv,` what `type=csv` does, though no item the schema allows
#: (an enum value; a tag, which holds no comma) is empty.
LIST_PARAMETERS = ("type", "status_filter", "tags")


def negative_only_by_empty_list_items(case: Any) -> bool:
    """Whether the query, read as the server reads lists, is valid, and nothing else negative."""
    meta = case.meta
    if meta is None or not isinstance(case.query, dict):
        return False
    if any(info.mode.is_negative for location, info in meta.components.items() if location != ParameterLocation.QUERY):
        return False
    query = dict(case.query)
    for name in LIST_PARAMETERS:
        if name in query:
            items = query[name] if isinstance(query[name], list) else [query[name]]
            if not all(isinstance(item, str) for item in items):
                return False
            query[name] = [part.strip() for item in items for part in item.split(",") if part.strip()]
    declared = {p["name"]: p for p in case.operation.definition.raw.get("parameters", []) if p["in"] == "query"}
    return all(
        name in declared
        and (
            (value == "" and declared[name].get("allowEmptyValue", False))
            or jsonschema.Draft4Validator(declared[name]["schema"]).is_valid(value)
        )
        for name, value in query.items()
    )


@schema.hook
def filter_failure(context: Any, failure: Failure, case: Any, response: Any) -> bool:
    """Keep every failure but the two kinds the module doc names, each checked against the case."""
    if isinstance(failure, RejectedPositiveData):
        return not refused_for_undescribed_rules(case, response, ACTIVE["world"])
    if isinstance(failure, AcceptedNegativeData):
        return not negative_only_by_empty_list_items(case)
    return True


# --- Counting ------------------------------------------------------------------------------


class FuzzSummary:
    """The cases sent and their outcomes, printed at the end of the session (a pytest plugin)."""

    name = "rivergen-fuzz-summary"

    def __init__(self) -> None:
        #: (identity, operation, mode, phase) -> cases sent
        self.cases: Counter[tuple[str, str, str, str]] = Counter()
        #: (identity, operation) -> cases of the operation's method answered 2xx; cases failing a check
        self.successes: Counter[tuple[str, str]] = Counter()
        self.failures: Counter[tuple[str, str]] = Counter()

    def call_and_validate(self, case: Any, identity: str, headers: dict[str, str] | None) -> None:
        meta = case.meta
        key = (identity, case.operation.label)
        mode, phase = (meta.generation.mode.value, meta.phase.name.value) if meta is not None else ("explicit", "")
        self.cases[(*key, mode, phase)] += 1
        try:
            response = case.call_and_validate(headers=headers)
        except FailureGroup:
            self.failures[key] += 1
            raise
        # Not the coverage phase's probes with other methods (OPTIONS answers 200).
        if 200 <= response.status_code < 300 and response.request.method == case.method.upper():
            self.successes[key] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        total, failing = sum(self.cases.values()), sum(self.failures.values())
        terminalreporter.write_sep("=", f"schemathesis: {total:,} cases generated, {failing} failing")
        by_operation: dict[tuple[str, str], Counter[str]] = {}
        by_mode: Counter[str] = Counter()
        for (identity, operation, mode, phase), count in self.cases.items():
            by_operation.setdefault((identity, operation), Counter())[mode] += count
            by_mode[f"{mode} ({phase})"] += count
        write(f"{'identity':<10} {'operation':<36} {'positive':>8} {'negative':>8} {'2xx':>6} {'failing':>7}")
        for key, modes in sorted(by_operation.items()):
            write(
                f"{key[0]:<10} {key[1]:<36} {modes['positive']:>8} {modes['negative']:>8} "
                f"{self.successes[key]:>6} {self.failures[key]:>7}"
            )
        by_identity: Counter[str] = Counter()
        for (identity, *_), count in self.cases.items():
            by_identity[identity] += count
        write("by identity: " + ", ".join(f"{name} {count:,}" for name, count in sorted(by_identity.items())))
        write("by mode: " + ", ".join(f"{name} {count:,}" for name, count in sorted(by_mode.items())))


@pytest.fixture(scope="module")
def summary(request: pytest.FixtureRequest) -> FuzzSummary:
    plugin = request.config.pluginmanager.get_plugin(FuzzSummary.name)
    if plugin is None:
        plugin = FuzzSummary()
        request.config.pluginmanager.register(plugin, FuzzSummary.name)
    return plugin


# --- The tests -----------------------------------------------------------------------------

# The world is a function-scoped fixture shared by a test's cases on purpose (see `world`).
FUZZ_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@schema.include(tag="auth").parametrize()
@FUZZ_SETTINGS
def test_token_endpoints_anonymously(case: Any, world: World, summary: FuzzSummary) -> None:
    summary.call_and_validate(case, "anonymous", headers=None)


@pytest.mark.parametrize("role", list(Role))
@schema.exclude(tag="auth").parametrize()
@FUZZ_SETTINGS
def test_organization_endpoints_as_each_role(case: Any, world: World, role: Role, summary: FuzzSummary) -> None:
    world.remap(case)
    summary.call_and_validate(case, str(role), headers={"Authorization": world.authorizations[role]})


def test_every_check_is_on() -> None:
    """What the module doc claims: every check, both modes, every phase the pytest runner has."""
    project = CONFIG.projects.get_default()
    registered = {check.__name__ for check in REGISTERED_CHECKS.get_all()}
    assert set(CHECKS) <= registered
    assert all(project.checks.get_by_name(name=name).enabled for name in registered)
    assert set(project.generation.modes) == {GenerationMode.POSITIVE, GenerationMode.NEGATIVE}
    assert all(getattr(project.phases, phase).enabled for phase in ("examples", "coverage", "fuzzing"))
    assert project.generation.deterministic and project.generation.max_examples == MAX_EXAMPLES
