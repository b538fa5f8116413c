"""One exception handler turns every exception into the contract's error envelope.

DRF errors, Django errors, database errors and anything unexpected all pass through
`envelope_exception_handler`; views never build an error response by hand. Messages
are fixed sentences or DRF's own: never a stack trace, SQL or a credential.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from rivergen.api.envelope import error_body
from rivergen.errors import ApplicationError

logger = logging.getLogger("rivergen.api")

ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

VALIDATION_MESSAGE = "The request is invalid; see error.details for each field."
INTERNAL_MESSAGE = "An unexpected error occurred. It has been logged."
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please retry shortly."
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the 1 MiB limit."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The write conflicts with existing data."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = UNAVAILABLE_MESSAGE
    default_code = "service_unavailable"


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    exc = _as_api_exception(exc)
    status_code = exc.status_code
    details: dict[str, Any] | None
    code = ERROR_CODES.get(status_code, "INTERNAL_ERROR" if status_code >= 500 else "ERROR")

    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        code = ERROR_CODES[400]
        message = VALIDATION_MESSAGE
        details = _field_messages(exc.detail, default_field=_parse_error_field(exc))
    elif isinstance(exc, _EnvelopedApplicationError):
        code, message, details = exc.app_error.code, exc.app_error.message, exc.app_error.details
    else:
        message, details = printable(_detail_message(exc.detail)), None

    response = Response(error_body(code, message, details), status=status_code)
    auth_header = getattr(exc, "auth_header", None)  # set by DRF on 401s
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)  # set on Throttled
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(max(1, int(wait)))
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


class _EnvelopedApplicationError(exceptions.APIException):
    def __init__(self, app_error: ApplicationError):
        self.app_error = app_error
        self.status_code = app_error.status_code
        super().__init__(app_error.message)


def _as_api_exception(exc: Exception) -> exceptions.APIException:
    """Translate non-DRF exceptions into the DRF exception of the right status."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, ApplicationError):
        return _EnvelopedApplicationError(exc)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        return exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ValidationError({"query": ["Too many query parameters."]})
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ValidationError({"request": ["The request could not be understood."]})
    if isinstance(exc, IntegrityError):
        # Uniqueness races that slipped past the services' own checks.
        logger.warning("integrity error answered as 409: %s", type(exc).__name__)
        return Conflict()
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unavailable: %s", type(exc).__name__)
        return ServiceUnavailable()
    if isinstance(exc, DatabaseError):
        logger.exception("database error", exc_info=exc)
    else:
        logger.exception("unhandled exception", exc_info=exc)
    return exceptions.APIException(INTERNAL_MESSAGE)


def _parse_error_field(exc: exceptions.APIException) -> str:
    return "body" if isinstance(exc, exceptions.ParseError) else api_settings.NON_FIELD_ERRORS_KEY


def _detail_message(detail: Any) -> str:
    """A human sentence from a DRF detail (simplejwt puts a dict there)."""
    if isinstance(detail, dict):
        return str(detail.get("detail") or next(iter(detail.values()), ""))
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    return str(detail)


def _field_messages(detail: Any, default_field: str) -> dict[str, list[str]]:
    """Shape any DRF error detail as {field: [message, ...]}."""
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {default_field: _flatten(detail)}


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        flat: list[str] = []
        for key, nested in messages.items():
            flat.extend(_flatten(nested, prefix=f"{prefix}[{key}] "))
        return flat
    if isinstance(messages, list | tuple):
        return [message for item in messages for message in _flatten(item, prefix)]
    return [printable(f"{prefix}{messages}")]


MAX_MESSAGE_LENGTH = 300


def printable(message: str) -> str:
    """A message safe to send back: messages may quote the client's input, so cap its
    length and replace what UTF-8 cannot carry (lone surrogates from JSON escapes)."""
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
    return message.encode("utf-8", "replace").decode("utf-8")


def json_error_response(status_code: int, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    """For Django's own 400/404/500 handlers under /api/, outside any DRF view."""
    return JsonResponse(
        error_body(ERROR_CODES[status_code], message, details),
        status=status_code,
        content_type="application/json; charset=utf-8",  # as every other response
    )
