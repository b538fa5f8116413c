"""Tenancy: the one place that decides which organization a request acts in.

`OrganizationScopedMixin` resolves the caller's current organization and scopes every
queryset of the viewset to it. Subclasses may not override `get_queryset`, so no view
can forget the scope; writable foreign keys use `OrganizationScopedRelatedField`,
so another organization's ids are rejected the same way.
"""

from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from rest_framework import permissions, serializers
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework_simplejwt.tokens import Token

from organizations.models import Membership, Organization, Role
from rivergen.api.authentication import check_password_claim, user_id_from_claim
from rivergen.ids import parse_bigint_id
from rivergen.middleware import record_organization

ORGANIZATION_HEADER = "X-Organization-ID"


def resolve_current_membership(request: Request) -> Membership:
    """The membership named by X-Organization-ID, else the user's earliest one.

    Bearer tokens are verified without reading the user (JWTStatelessUserAuthentication),
    so this one query is also where a token that no longer speaks for its user is caught:
    only active users' memberships match (deactivated or deleted since the token was
    issued), and the user's password hash comes along to check the token against
    (changed since). Every such case answers 401, and costs no extra statement.
    """
    user_id = _user_id(request)
    memberships = (
        Membership.objects.filter(user_id=user_id, user__is_active=True)
        .select_related("organization")
        .annotate(user_password_hash=F("user__password"))
    )
    requested = request.headers.get(ORGANIZATION_HEADER)
    if requested is None:
        membership = memberships.order_by("created_at", "id").first()
        if membership is None:
            _refuse(request, user_id, "You are not a member of any organization.")
        _check_token(request, membership.user_password_hash)
        return membership
    requested = requested.strip()
    organization_id = parse_bigint_id(requested)
    if organization_id is None:
        _refuse(request, user_id, f"{ORGANIZATION_HEADER} does not name one of your organizations.")
    membership = memberships.filter(organization_id=organization_id).first()
    if membership is None:
        _refuse(request, user_id, f"{ORGANIZATION_HEADER} does not name one of your organizations.")
    _check_token(request, membership.user_password_hash)
    return membership


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
        queryset = super().get_queryset()
        return queryset.filter(**{self.organization_field: self.membership.organization_id})


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
