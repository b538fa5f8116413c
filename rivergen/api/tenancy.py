"""Tenancy: the one place that decides which organization a request acts in.

`OrganizationScopedMixin` resolves the caller's current organization and scopes every
queryset of the viewset to it. Subclasses may not override `get_queryset`, so no view
can forget the scope; writable foreign keys use `OrganizationScopedRelatedField`,
so another organization's ids are rejected the same way.
"""

from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import QuerySet
from rest_framework import permissions, serializers
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework_simplejwt.tokens import Token

from organizations.models import Membership, Organization, Role
from rivergen.api.authentication import check_password_claim, user_id_from_claim
from rivergen.db.postgresql.notifications import RememberedUntilNotified
from rivergen.ids import parse_bigint_id
from rivergen.middleware import record_organization

ORGANIZATION_HEADER = "X-Organization-ID"
#: Membership rows, remembered per worker until PostgreSQL notifies a change of the users,
#: memberships or organizations (organizations migration 0002 sends the notifications).
ACCESS_ROWS = RememberedUntilNotified(
    channel="rivergen_access",
    trigger="rivergen_access_changed",
    tables=lambda: [model._meta.db_table for model in (get_user_model(), Membership, Organization)],
)
_NOT_YOURS = f"{ORGANIZATION_HEADER} does not name one of your organizations."


def resolve_current_membership(request: Request) -> Membership:
    """The membership named by X-Organization-ID, else the user's earliest one.

    Bearer tokens are verified without reading the user (JWTStatelessUserAuthentication),
    so this one lookup is also where a token that no longer speaks for its user is caught:
    only active users' memberships match (deactivated or deleted since the token was
    issued), and the user's password hash comes along to check the token against
    (changed since). Every such case answers 401, and costs no extra statement. On
    PostgreSQL the row is remembered until a change is notified (`ACCESS_ROWS`).
    """
    user_id = _user_id(request)
    requested = request.headers.get(ORGANIZATION_HEADER)
    if requested is None:
        found = _MEMBERSHIP_QUERIES.first(user_id=user_id)
    else:
        organization_id = parse_bigint_id(requested.strip())
        if organization_id is None:
            _refuse(request, user_id, _NOT_YOURS)
        found = _MEMBERSHIP_QUERIES.first(user_id=user_id, organization_id=organization_id)
    if found is None:
        _refuse(request, user_id, "You are not a member of any organization." if requested is None else _NOT_YOURS)
    membership, password_hash = found
    _check_token(request, password_hash)
    return membership


class _MembershipQueries:
    """The membership lookup of every API request, compiled by the ORM once per database.

    Why not a queryset per request: compiling it (joins, select_related, ordering) cost
    0.5 ms of CPU and building the instances 0.4 ms, a sixth of a whole list request
    (bench/list_overhead.py). The SQL is still the ORM's, compiled with marker values
    that are then swapped for the caller's; rows become instances through Model.from_db.
    """

    _USER, _ORGANIZATION = -7_001, -7_002  # markers no real id takes
    _MEMBERSHIP_FIELDS = [field.attname for field in Membership._meta.concrete_fields]
    _ORGANIZATION_FIELDS = [field.attname for field in Organization._meta.concrete_fields]

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, bool], tuple[str, list[Any], Any, Any]] = {}

    def _query(self, by_organization: bool) -> tuple[str, list[Any], Any, Any]:
        key = (connection.alias + "/" + connection.vendor, by_organization)
        if key not in self._compiled:
            memberships = Membership.objects.filter(user_id=self._USER, user__is_active=True)
            if by_organization:
                memberships = memberships.filter(organization_id=self._ORGANIZATION)
            columns = [
                *self._MEMBERSHIP_FIELDS,
                *(f"organization__{name}" for name in self._ORGANIZATION_FIELDS),
                "user__password",
            ]
            queryset = memberships.order_by("created_at", "id").values_list(*columns)[:1]
            compiler = queryset.query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            # The backend's converters (SQLite hands back naive datetimes, for one).
            converters = compiler.get_converters([expression for expression, _sql, _alias in compiler.select])
            self._compiled[key] = (sql, list(params), compiler, converters)
        return self._compiled[key]

    def first(self, *, user_id: int, organization_id: int | None = None) -> tuple[Membership, str] | None:
        """(membership, the user's password hash), or None.

        On PostgreSQL the row is remembered until a user, membership or organization
        changes (`ACCESS_ROWS`): a repeat request makes no statement for it.
        """
        # The connection itself, not the `connection` proxy: the remembered rows read a dozen
        # of its attributes, each a lookup through the proxy's thread-local handler.
        database = connections[DEFAULT_DB_ALIAS]
        row = ACCESS_ROWS.get(database, (user_id, organization_id), lambda: self._row(user_id, organization_id))
        if row is None:
            return None
        split = len(self._MEMBERSHIP_FIELDS)
        end = split + len(self._ORGANIZATION_FIELDS)
        membership = Membership.from_db(database.alias, self._MEMBERSHIP_FIELDS, row[:split])
        membership.organization = Organization.from_db(database.alias, self._ORGANIZATION_FIELDS, row[split:end])
        return membership, row[end]

    def _row(self, user_id: int, organization_id: int | None) -> tuple[Any, ...] | None:
        sql, template, compiler, converters = self._query(by_organization=organization_id is not None)
        params = [
            user_id if value == self._USER else organization_id if value == self._ORGANIZATION else value
            for value in template
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None and converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        return tuple(row) if row is not None else None


_MEMBERSHIP_QUERIES = _MembershipQueries()


def _user_id(request: Request) -> int:
    """The caller's user id; a bearer token's claim is checked to be one."""
    return user_id_from_claim(request.user.pk)


def _check_token(request: Request, password_hash: str) -> None:
    """401 if the request's bearer token predates the user's password (sessions: Django checks)."""
    if isinstance(request.auth, Token):
        check_password_claim(request.auth, password_hash)


def _refuse(request: Request, user_id: int, reason: str) -> NoReturn:
    """401 for an account that is gone or inactive, or a token older than its password; else 403."""
    password_hash = (
        get_user_model().objects.filter(pk=user_id, is_active=True).values_list("password", flat=True).first()
    )
    if password_hash is None:
        raise AuthenticationFailed("User is inactive or no longer exists.", code="user_inactive")
    _check_token(request, password_hash)
    raise PermissionDenied(reason)


class OrganizationScopedMixin(GenericAPIView):
    """Scope a viewset to the current organization. Put it first in the bases."""

    #: The path from the viewset's model to its Organization.
    organization_field = "organization"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; set `queryset` instead, "
                "OrganizationScopedMixin owns the organization scope."
            )

    @property
    def membership(self) -> Membership:
        if not hasattr(self, "_membership"):
            self._membership = resolve_current_membership(self.request)
            record_organization(self.request, self._membership.organization_id)  # for the request log
        return self._membership

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.unscoped_queryset()
        return queryset.filter(**{self.organization_field: self.membership.organization_id})

    def unscoped_queryset(self) -> QuerySet[Any]:
        """Every organization's rows, which `get_queryset` scopes: the viewset's `queryset`."""
        return super().get_queryset()


class RolePermission(permissions.BasePermission):
    """admin: everything; editor: read, create, update; viewer: read only.

    Resolving the membership here also answers 403 to users with no organization,
    before any object is looked up.
    """

    WRITE_ROLES = {
        "POST": {Role.ADMIN, Role.EDITOR},
        "PUT": {Role.ADMIN, Role.EDITOR},
        "PATCH": {Role.ADMIN, Role.EDITOR},
        "DELETE": {Role.ADMIN},
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", "") is None:
            return True  # the route has no such method: DRF answers 405 next
        role = view.membership.role
        allowed = self.WRITE_ROLES.get(request.method or "", None)
        if allowed is not None and role not in allowed:
            raise PermissionDenied(f"Your role ({role}) does not allow this action.")
        return True


class OrganizationScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A writable foreign key that only accepts rows of the current organization.

    Ids of other organizations get the same "does not exist" error as unknown ids.
    """

    default_error_messages = {
        "does_not_exist": "No such {model_name} in your organization: {pk_value}.",
        "incorrect_type": "Expected a positive integer id, got {data_type}.",
    }

    def __init__(self, model: type[Any], **kwargs: Any):
        self.model = model
        super().__init__(queryset=model.objects.all(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        view = self.context["view"]
        return self.model.objects.filter(organization_id=view.membership.organization_id)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = parse_bigint_id(data.strip() if isinstance(data, str) else data)
        if pk is None:
            self.fail("does_not_exist", model_name=self.model._meta.verbose_name, pk_value=data)
        try:
            return self.get_queryset().get(pk=pk)
        except self.model.DoesNotExist:
            self.fail("does_not_exist", model_name=self.model._meta.verbose_name, pk_value=data)
