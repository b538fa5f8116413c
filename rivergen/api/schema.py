"""The OpenAPI 3 schema tells the truth about the envelopes, errors and tenancy.

drf-spectacular describes what DRF sees: a serializer per operation. Contract v1 wraps
every body in an envelope and answers errors from one exception handler, so this
module teaches it the rest:

- `EnvelopeAutoSchema` wraps each success body in `{success, data, message}` (lists
  come enveloped from `EnvelopePagination.get_paginated_response_schema`; a delete's
  `data` is null), adds the error responses each operation can really answer, the
  optional `X-Organization-ID` header on organization-scoped operations, and integer
  ids in paths.
- The error responses are shared components (`#/components/responses/NotFound`, ...),
  one per status, each with its own `error.code`; 401 documents `WWW-Authenticate`,
  429 and 503 document `Retry-After`.
- Extensions describe the filters (`type=a,b` is a comma-separated array) and the
  tags field; `preprocess_one_path_per_route` keeps one path per route, without the
  optional trailing slash.

Methods a path does not support answer 405 and unknown paths under /api/ answer 404.
OpenAPI has no place for an operation that does not exist (and drf-spectacular none
for a path-level description), so those two are the `MethodNotAllowed` and `NotFound`
response components, named in the schema's description.
"""

import copy
import re
from typing import Any, Literal

import uritemplate
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_array_type, build_parameter_type, get_view_model
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.views import TokenViewBase

from organizations.models import Role
from rivergen.api.exceptions import ERROR_CODES, UNAVAILABLE_RETRY_AFTER_SECONDS
from rivergen.api.filters import CSVChoiceInFilter, PositiveBigIntegerFilter
from rivergen.api.tenancy import ORGANIZATION_HEADER, OrganizationScopedMixin, RolePermission
from rivergen.ids import MAX_BIGINT

JSON = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_BIGINT}
SUCCESS_FLAG = {"type": "boolean", "enum": [True]}


# --- Error responses ------------------------------------------------------------------

FIELD_ERRORS = {
    "type": "object",
    "description": "Each invalid field or query parameter, mapped to its messages.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

#: status -> (component name, description, details schema, response headers)
ERRORS: dict[int, tuple[str, str, dict[str, Any] | None, dict[str, Any]]] = {
    400: (
        "ValidationError",
        "A query parameter or body field is invalid; `error.details` maps each field to its "
        "messages (`body` for a body that is not valid JSON). `details` is null only when the "
        "request could not be understood at all.",
        {**FIELD_ERRORS, "nullable": True},
        {},
    ),
    401: (
        "Unauthorized",
        "The bearer token is missing, malformed, expired or badly signed, the user is inactive "
        "or deleted or has changed their password since the token was issued, or (token "
        "endpoints) the credentials or refresh token are not valid (a refresh token works once).",
        None,
        {
            "WWW-Authenticate": {
                "description": "The scheme to authenticate with.",
                "required": True,
                "schema": {"type": "string", "example": 'Bearer realm="api"'},
            }
        },
    ),
    403: (
        "Forbidden",
        f"The user is not a member of any organization, `{ORGANIZATION_HEADER}` names none of "
        "theirs, or their role does not allow the action.",
        None,
        {},
    ),
    404: (
        "NotFound",
        "No such object in the current organization (other organizations' objects are not found "
        "either), or no API route matches the path.",
        None,
        {},
    ),
    405: ("MethodNotAllowed", "The path does not support this method.", None, {}),
    409: (
        "Conflict",
        "The write would break a uniqueness rule (a data source's name is unique per organization, "
        "case-insensitively); `error.details` names the field when it is known.",
        {**FIELD_ERRORS, "nullable": True},
        {},
    ),
    413: ("PayloadTooLarge", "The request body is larger than 1 MiB.", None, {}),
    415: ("UnsupportedMediaType", "The request body is not JSON (`Content-Type: application/json`).", None, {}),
    429: (
        "RateLimited",
        "Too many requests; retry after the given number of seconds.",
        None,
        {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    ),
    500: ("InternalError", "An unexpected error; it has been logged. The body never holds a trace.", None, {}),
    503: (
        "ServiceUnavailable",
        "The database is unreachable; retry shortly.",
        None,
        {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "example": UNAVAILABLE_RETRY_AFTER_SECONDS},
            }
        },
    ),
}

ALWAYS_NULL = {"type": "object", "nullable": True, "enum": [None], "description": "Always null."}


def error_envelope_schema(status: int) -> dict[str, Any]:
    details = ERRORS[status][2] or {**ALWAYS_NULL}
    return {
        "type": "object",
        "description": f"The error envelope of a {status} response.",
        "required": ["success", "error", "message"],
        "additionalProperties": False,
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "error": {
                "type": "object",
                "required": ["code", "details"],
                "additionalProperties": False,
                "properties": {"code": {"type": "string", "enum": [ERROR_CODES[status]]}, "details": details},
            },
            "message": {"type": "string", "minLength": 1, "description": "A human sentence."},
        },
    }


def error_response_ref(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


# --- Serializers of the token endpoints -------------------------------------------------


class TokenObtainSerializer(serializers.Serializer):
    """POST /api/v1/auth/token: the user's credentials."""

    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class TokenRefreshSerializer(serializers.Serializer):
    """POST /api/v1/auth/token/refresh: a refresh token."""

    refresh = serializers.CharField(write_only=True, help_text="A refresh token from POST /api/v1/auth/token.")


_ACCESS_HELP = "Send it as `Authorization: Bearer <access>`."
_REFRESH_HELP = "Trade it for a new access token at POST /api/v1/auth/token/refresh."
_EXPIRES_HELP = "Seconds until the access token expires."


class TokenPairSerializer(serializers.Serializer):
    """An access token and the refresh token that renews it."""

    access = serializers.CharField(help_text=_ACCESS_HELP)
    refresh = serializers.CharField(help_text=_REFRESH_HELP)
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(min_value=1, help_text=_EXPIRES_HELP)


class AccessTokenSerializer(serializers.Serializer):
    """A new access token (and a new refresh token, if SIMPLE_JWT rotates them)."""

    access = serializers.CharField(help_text=_ACCESS_HELP)
    if jwt_settings.ROTATE_REFRESH_TOKENS:
        refresh = serializers.CharField(
            help_text=f"{_REFRESH_HELP} It replaces the refresh token sent, which no longer works."
        )
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(min_value=1, help_text=_EXPIRES_HELP)


# --- The auto schema ---------------------------------------------------------------------


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the envelopes, error responses and tenancy header."""

    def get_paginated_name(self, serializer_name: str) -> str:
        return f"{serializer_name}ListEnvelope"

    def get_summary(self) -> str | None:
        summary = super().get_summary()
        model = get_view_model(self.view, emit_warnings=False)
        if summary or model is None:
            return summary
        name, plural = model._meta.verbose_name, model._meta.verbose_name_plural
        article = "an" if name[:1].lower() in "aeiou" else "a"
        return {
            "list": f"List {plural}",
            "retrieve": f"Get {article} {name}",
            "create": f"Create {article} {name}",
            "partial_update": f"Update {article} {name} (partial)",
            "destroy": f"Delete {article} {name}",
        }.get(getattr(self.view, "action", ""))

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular narrows DRF's signature
        description = super().get_description()
        roles = self._allowed_roles()
        if roles:
            description = f"{description}\n\nRoles allowed: {', '.join(roles)}.".strip()
        return description

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if isinstance(self.view, OrganizationScopedMixin):
            parameters.append(
                OpenApiParameter(
                    ORGANIZATION_HEADER,
                    type={"type": "integer", "format": "int64", "minimum": 1},
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "The organization to act in; one of the caller's (else 403). "
                        "Default: the caller's earliest membership."
                    ),
                )
            )
        model = get_view_model(self.view, emit_warnings=False)
        if model is not None:
            # The router's id pattern is digits; ids are positive 64-bit integers.
            for variable in uritemplate.variables(self.path):
                parameters.append(
                    OpenApiParameter(
                        variable,
                        type=dict(ID_SCHEMA),
                        location=OpenApiParameter.PATH,
                        description=f"The {model._meta.verbose_name}'s id; any other value is not found (404).",
                    )
                )
        return parameters

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        if self.method != "GET" or not self._is_list_view():
            return parameters
        # A list's query parameters given empty (`?sort_by=`) mean their defaults (README).
        return [{**p, "allowEmptyValue": True} if p["in"] == "query" else p for p in parameters]

    def _postprocess_serializer_schema(self, schema: dict[str, Any], serializer: Any, direction: str) -> Any:
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if direction == "response" and schema.get("properties"):
            # DRF renders every readable field, null or not: all of them are always there.
            schema["required"] = sorted(schema["properties"])
        return schema

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: str = "response"
    ) -> dict[str, Any]:
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if not status_code.startswith("2"):
            return response
        paginated = self._is_list_view(serializer) and self._get_paginator() is not None
        message = self._success_message()
        if message:
            response["description"] = f'message: "{message}"'
        if paginated:
            return response  # EnvelopePagination's schema is the whole envelope already.
        for media_type in response.get("content", {}).values():
            media_type["schema"] = self._success_envelope(media_type["schema"])
        return response

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if self.method == "DELETE" and "204" in responses:
            # The contract answers 200 with `data: null`, not 204.
            del responses["204"]
            envelope = self._success_envelope({**ALWAYS_NULL})
            message = self._success_message()
            responses["200"] = {
                "description": f'message: "{message}"' if message else "",
                "content": {media_type: {"schema": envelope} for media_type in self.map_renderers("media_type")},
            }
        for status in sorted(self._error_statuses()):
            responses.setdefault(str(status), error_response_ref(status))
        return responses

    # -- helpers --

    def _success_envelope(self, data_schema: dict[str, Any]) -> dict[str, Any]:
        envelope = {
            "type": "object",
            "required": ["success", "data", "message"],
            "additionalProperties": False,
            "properties": {
                "success": dict(SUCCESS_FLAG),
                "data": data_schema,
                "message": {"type": "string"},
            },
        }
        ref = data_schema.get("$ref", "")
        if not ref.startswith("#/components/schemas/"):
            # Inline (a delete's null): drf-spectacular's enum hook would mangle `enum: [null]`.
            return envelope
        name = f"{ref.rsplit('/', 1)[1]}Envelope"
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=envelope, object=name)
        self.registry.register_on_missing(component)
        return component.ref

    def _success_message(self) -> str | None:
        message = getattr(self.view, "success_message", None)
        if message:
            return str(message)
        if not hasattr(self.view, "message"):
            return None
        verbs = {
            "list": ("retrieved", True),
            "retrieve": ("retrieved", False),
            "create": ("created", False),
            "partial_update": ("updated", False),
            "destroy": ("deleted", False),
        }
        verb = verbs.get(getattr(self.view, "action", ""))
        return self.view.message(verb[0], plural=verb[1]) if verb else None

    def _allowed_roles(self) -> list[str]:
        if not isinstance(self.view, OrganizationScopedMixin):
            return []
        if not any(isinstance(permission, RolePermission) for permission in self.view.get_permissions()):
            return []
        allowed = RolePermission.WRITE_ROLES.get(self.method)
        return [str(role) for role in Role if allowed is None or role in allowed]

    def _error_statuses(self) -> set[int]:
        """The error statuses this operation can answer, from how its view is built."""
        view = self.view
        has_body = self.method in BODY_METHODS
        statuses = {500, 503}  # Anything unexpected; the database being unreachable.
        if has_body:
            statuses |= {400, 413, 415}
        if self.method == "GET" and self._is_list_view():
            statuses.add(400)  # Query parameters are validated.
        authenticators = view.get_authenticators()
        if authenticators or isinstance(view, TokenViewBase):
            statuses.add(401)
        if isinstance(view, OrganizationScopedMixin):
            statuses.add(403)
        elif has_body and any(isinstance(a, SessionAuthentication) for a in authenticators):
            statuses.add(403)  # CSRF failure of a session-authenticated write.
        if re.search(r"{\w+}", self.path):
            statuses.add(404)
        if has_body and getattr(view, "queryset", None) is not None:
            statuses.add(409)  # A model write can break a uniqueness rule.
        if view.get_throttles():
            statuses.add(429)
        return statuses


# --- Extensions ------------------------------------------------------------------------


class EnvelopeDjangoFilterExtension(DjangoFilterExtension):
    """django-filter parameters, with the project's own filters described exactly."""

    priority = 1

    def resolve_filter_field(
        self, auto_schema: Any, model: Any, filterset_class: Any, field_name: str, filter_field: Any
    ) -> list[dict[str, Any]]:
        label = str(filter_field.label) if filter_field.label else None
        rows = model._meta.verbose_name_plural
        if isinstance(filter_field, PositiveBigIntegerFilter):
            schema = dict(ID_SCHEMA)
            description = label or f"Only {rows} with this {field_name}."
            return [build_parameter_type(field_name, schema, OpenApiParameter.QUERY, description=description)]
        if isinstance(filter_field, CSVChoiceInFilter):
            choices = [str(value) for value, _ in filter_field.extra["choices"]]
            description = label or (
                f"Only {rows} whose {filter_field.field_name} is one of these: comma-separated "
                f"(`{field_name}=a,b`) or repeated (`{field_name}=a&{field_name}=b`)."
            )
            return [
                build_parameter_type(
                    field_name,
                    build_array_type({"type": "string", "enum": choices}),
                    OpenApiParameter.QUERY,
                    description=description,
                    style="form",
                    explode=False,
                )
            ]
        return super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)


class BearerJWTScheme(SimpleJWTScheme):
    """`Authorization: Bearer <access token>`, a JWT (HTTP bearer auth, any case)."""

    target_class = "rivergen.api.authentication.BearerTokenAuthentication"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class StaffSessionScheme(SessionScheme):
    """Django's session cookie, as drf-spectacular documents SessionAuthentication (staff only)."""

    target_class = "rivergen.api.authentication.StaffSessionAuthentication"


class OrganizationScopedRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A foreign key of the current organization (`workspace_id`): a positive 64-bit id."""

    target_class = "rivergen.api.tenancy.OrganizationScopedRelatedField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return dict(ID_SCHEMA)


class TagListFieldExtension(OpenApiSerializerFieldExtension):
    """A data source's tags: a list of strings, normalized on write."""

    target_class = "datasources.api.serializers.TagListField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        from datasources.models import MAX_TAG_LENGTH, MAX_TAGS

        if direction == "request":
            return {
                "type": "array",
                "maxItems": MAX_TAGS,
                "items": {"type": "string"},
                "description": (
                    f"At most {MAX_TAGS} tags, each 1 to {MAX_TAG_LENGTH} characters once trimmed; "
                    "stored trimmed, lower-cased and de-duplicated."
                ),
            }
        return {
            "type": "array",
            "maxItems": MAX_TAGS,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH},
        }


# --- Hooks -----------------------------------------------------------------------------


def preprocess_one_path_per_route(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """One path per route, written without the trailing slash the routes also accept."""
    seen: set[tuple[str, str]] = set()
    result = []
    for path, path_regex, method, callback in endpoints:
        path = path.rstrip("/") or "/"
        if (path, method) in seen:
            continue
        seen.add((path, method))
        result.append((path, path_regex, method, callback))
    return result


def postprocess_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Add the error components and inline the success flag.

    Runs after drf-spectacular's enum hook, which would otherwise turn `success: [true]`
    and `success: [false]` into enum components of their own.
    """
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    responses = components.setdefault("responses", {})

    flag = schemas.pop("SuccessEnum", None)
    if flag is not None:
        _replace_refs(result, "#/components/schemas/SuccessEnum", {"type": "boolean", "enum": flag["enum"]})

    for status, (name, description, _, headers) in sorted(ERRORS.items()):
        schemas[f"{name}Envelope"] = error_envelope_schema(status)
        response: dict[str, Any] = {"description": f"{status} {ERROR_CODES[status]}: {description}"}
        if headers:
            response["headers"] = copy.deepcopy(headers)
        response["content"] = {JSON: {"schema": {"$ref": f"#/components/schemas/{name}Envelope"}}}
        responses[name] = response
    components["schemas"] = dict(sorted(schemas.items()))
    components["responses"] = dict(sorted(responses.items()))
    return result


def _replace_refs(node: Any, ref: str, replacement: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and value.get("$ref") == ref:
                rest = {k: v for k, v in value.items() if k != "$ref"}
                node[key] = {**replacement, **rest}
            else:
                _replace_refs(value, ref, replacement)
    elif isinstance(node, list):
        for item in node:
            _replace_refs(item, ref, replacement)


def postprocess_data_source_rules(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """To create a data source: the fields its type and SSH tunnel require (API.md §4).

    On the create body only: a PATCH body is checked together with the stored fields it
    leaves alone, which no schema can see. Runs after drf-spectacular's enum hook, which
    would turn each subset of types into the whole `DataSourceTypeEnum`.
    """
    from datasources.models import FILE_PATH_TYPES, NETWORK_TYPES, DataSourceType

    create = result.get("components", {}).get("schemas", {}).get("DataSourceRequest")
    if create is None:
        return result
    given = {"type": "string", "pattern": r"\S", "description": "Not blank."}

    def needs(types: Any, *fields: str) -> dict[str, Any]:
        kinds = [str(kind) for kind in DataSourceType if kind in types]
        return {
            "description": f"Type {', '.join(kinds)}: {' and '.join(fields)} required.",
            "properties": {"type": {"type": "string", "enum": kinds}, **dict.fromkeys(fields, given)},
            "required": list(fields),
        }

    create["allOf"] = [
        {
            "anyOf": [
                needs(NETWORK_TYPES, "host", "database_name"),
                needs({DataSourceType.BIGQUERY}, "database_name"),
                needs(FILE_PATH_TYPES, "file_path"),
            ]
        },
        {
            "anyOf": [
                {
                    "description": "No SSH tunnel.",
                    "properties": {"use_ssh_tunnel": {"type": "boolean", "enum": [False]}},
                },
                {
                    "description": "An SSH tunnel: ssh_host required.",
                    "properties": {"ssh_host": given},
                    "required": ["ssh_host"],
                },
            ]
        },
    ]
    return result
