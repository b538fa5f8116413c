"""Request-wide middleware: the request id and request log, and the health probes.

Order in settings.MIDDLEWARE: `RequestLogMiddleware` first, so every response (HTTPS
redirects, 400s for a bad Host, static files, probes) gets an id and a log line;
then `HealthCheckMiddleware`, ahead of SecurityMiddleware and CommonMiddleware.
"""

import io
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.functional import SimpleLazyObject, empty

from rivergen import health
from rivergen.logging import bind_request_id

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client or proxy; anything else is replaced, not logged.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

request_logger = logging.getLogger("rivergen.request")


ORGANIZATION_ATTRIBUTE = "rivergen_organization_id"

#: Where the API's routes live (rivergen/urls.py), below any SCRIPT_NAME a proxy mounts it at.
API_PATH_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    """Whether the request is for the API: its path as routing sees it (path_info)."""
    return request.path_info.startswith(API_PATH_PREFIX)


class RequestLogMiddleware:
    """Give each request an id and write one structured log line when it is answered.

    The id comes from a valid incoming `X-Request-ID` (set by a proxy or the client),
    else a new uuid4 hex; it is echoed in the response's `X-Request-ID` header and
    stamped on every log record made while the request runs (rivergen.logging).

    The line holds the method, the path without its query string, the status, the
    duration, and the user and organization ids: never headers, bodies or query values,
    so no credential or token can reach the log.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # Cleared on request_finished rather than here: Django logs 5xx responses after
        # the middleware chain returns, and that line should carry the id too.
        bind_request_id(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response[REQUEST_ID_HEADER] = request_id
        status = response.status_code
        request_logger.log(
            logging.ERROR if status >= 500 else logging.INFO,
            "%s %s %s %.2fms",
            request.method,
            request.path,
            status,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": _user_id(request),
                # Recorded by the API's tenancy (OrganizationScopedMixin.membership).
                "organization_id": getattr(request, ORGANIZATION_ATTRIBUTE, None),
            },
        )
        return response


def record_organization(request: Any, organization_id: int) -> None:
    """Note the request's current organization for its log line (DRF or Django request)."""
    setattr(getattr(request, "_request", request), ORGANIZATION_ATTRIBUTE, organization_id)


def _incoming_request_id(request: HttpRequest) -> str | None:
    value = request.headers.get(REQUEST_ID_HEADER)
    if value is not None and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return None


def _user_id(request: HttpRequest) -> int | None:
    """The authenticated user's id, without loading a user nobody asked for."""
    user: Any = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        # Nothing looked at the session user (JWT requests set request.user when DRF
        # authenticates): resolving it now would cost a session query per request.
        return None
    if not user.is_authenticated:
        return None
    # Bearer requests carry a TokenUser, whose id is the token's string claim.
    return int(user.pk) if isinstance(user.pk, str) and user.pk.isdigit() else user.pk


def _clear_request_id(**kwargs: Any) -> None:
    bind_request_id(None)


request_finished.connect(_clear_request_id, dispatch_uid="rivergen.middleware.clear_request_id")


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before host validation and the HTTPS redirect.

    Docker's HEALTHCHECK and Kubernetes probes call the container over plain HTTP with
    its own address as Host, which ALLOWED_HOSTS rightly rejects and SECURE_SSL_REDIRECT
    would redirect. The probe answers hold nothing derived from the Host header. Both
    paths are routed in rivergen/urls.py too, to the same views.
    """

    PROBES = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        view = self.PROBES.get(path[:-1] if path.endswith("/") else path)
        if view is None:
            return self.get_response(request)
        # Outside the URL resolver Django does not render the DRF response for us.
        response = view(request).render()
        response["Content-Length"] = str(len(response.content))
        return response


CHUNKED_BODY_REFUSED = "Send the request body with a Content-Length header: this server cannot read a chunked body."


class ChunkedBodyMiddleware:
    """Read a body sent with `Transfer-Encoding: chunked` and no Content-Length.

    Django sizes a WSGI request's body by its Content-Length alone, so a chunked body
    parsed as nothing: a chunked PATCH answered 200 and changed nothing. Where the server
    has decoded the chunks and ends the input there (`wsgi.input_terminated`: gunicorn
    sets it), the body is read here, at most one byte over the limit, and given the
    length it has; one over the limit then answers 413 as any other. Where the server
    does not (runserver), reading could wait forever: 400, so the client resends it with
    a length. Nothing is done for any other request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower() or meta.get("CONTENT_LENGTH"):
            return self.get_response(request)
        if "wsgi.input" not in meta:  # not WSGI (ASGI reads the whole body itself)
            return self.get_response(request)
        if not meta.get("wsgi.input_terminated"):
            return _chunked_body_refused(request)
        body = _read_at_most(meta["wsgi.input"], settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
        meta["CONTENT_LENGTH"] = str(len(body))
        request._stream = io.BytesIO(body)
        return self.get_response(request)


def _read_at_most(stream: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(64 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _chunked_body_refused(request: HttpRequest) -> HttpResponse:
    if not is_api_request(request):
        return HttpResponseBadRequest(CHUNKED_BODY_REFUSED, content_type="text/plain; charset=utf-8")
    from rivergen.api.exceptions import VALIDATION_MESSAGE, json_error_response  # the API's envelope

    return json_error_response(400, VALIDATION_MESSAGE, {"request": [CHUNKED_BODY_REFUSED]})


class PageMessageMiddleware(MessageMiddleware):
    """Django's messages ("The data source was changed successfully.") for pages, not the API.

    Only pages show messages (the admin's, the login page's); the API answers JSON and
    never adds or shows one. Setting up each request's message storage (a signed-cookie
    storage, then a session one) was 1.8% of an API list request's instructions, so API
    requests get none: `messages.add_message` there raises MessageFailure. Queued
    messages wait, untouched, for the next page. A subclass, so the admin's check for
    MessageMiddleware (admin.E409) still holds.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)
