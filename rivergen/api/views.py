"""Views of the project package: JWT tokens, unknown API routes, Django's error pages."""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from rivergen.api.authentication import RotatingTokenRefreshSerializer
from rivergen.api.envelope import success_response
from rivergen.api.exceptions import INTERNAL_MESSAGE, VALIDATION_MESSAGE, json_error_response
from rivergen.api.schema import (
    AccessTokenSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
)
from rivergen.api.throttling import AnonThrottle, AuthThrottle
from rivergen.middleware import is_api_request


class _EnvelopedTokenMixin:
    success_message: str
    # No credentials here, so every caller is anonymous: "anon" plus the stricter "auth"
    # (password and refresh-token guessing), both per client address.
    throttle_classes: Sequence[type[BaseThrottle]] = (AnonThrottle, AuthThrottle)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)  # type: ignore[attr-defined]
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as error:
            raise InvalidToken(error.args[0]) from None
        except ObjectDoesNotExist:
            # simplejwt's refresh serializer looks the user up without catching DoesNotExist.
            raise AuthenticationFailed("No active account found for the given token.", "no_active_account") from None
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
        data = {
            **serializer.validated_data,
            "token_type": "Bearer",
            "expires_in": int(lifetime.total_seconds()),
        }
        return success_response(data, self.success_message)

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        # In the envelope, like every other API route's (rivergen/api/viewsets.py).
        metadata = super().options(request, *args, **kwargs).data  # type: ignore[misc]
        return success_response(metadata, "Options retrieved successfully")


class UntrimmedPasswordTokenObtainSerializer(jwt_serializers.TokenObtainPairSerializer):
    """simplejwt's, with the password taken as sent (it trims it): a password may begin or
    end with spaces, and one of spaces only is wrong credentials (401), not a blank field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"] = jwt_serializers.PasswordField(trim_whitespace=False)


@extend_schema(request=TokenObtainSerializer, responses=TokenPairSerializer, summary="Obtain tokens")
class TokenObtainView(_EnvelopedTokenMixin, jwt_views.TokenObtainPairView):
    """POST {"username", "password"} -> access and refresh tokens."""

    serializer_class = UntrimmedPasswordTokenObtainSerializer
    success_message = "Token issued successfully"


@extend_schema(request=TokenRefreshSerializer, responses=AccessTokenSerializer, summary="Refresh the access token")
class TokenRefreshView(_EnvelopedTokenMixin, jwt_views.TokenRefreshView):
    """POST {"refresh"} -> a new access token and a new refresh token; the one sent is spent."""

    serializer_class = RotatingTokenRefreshSerializer
    success_message = "Token refreshed successfully"


class UnknownAPIRouteView(APIView):
    """Every path under /api/ that no route matches: 404 in the envelope, any method."""

    schema = None  # Not an operation: documented as components/responses/NotFound.

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound("No API route matches this path.")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(
            400, VALIDATION_MESSAGE, {"request": ["The request could not be understood (for example, its Host)."]}
        )
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(404, "No API route matches this path.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(500, INTERNAL_MESSAGE)
    return defaults.server_error(request)
