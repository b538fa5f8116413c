"""The renderer chosen for an Accept header: the common ones skip DRF's parsing, and get its answer."""

from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from rivergen.api import renderers as api_renderers
from rivergen.api.negotiation import JSONFallbackNegotiation


class CharsetJSONRenderer(JSONRenderer):
    media_type = "application/json; charset=utf-8"  # parameters: DRF ranks these its own way


RENDERER_ORDERS = [
    [api_renderers.JSONRenderer(), BrowsableAPIRenderer()],  # the settings' order
    [BrowsableAPIRenderer(), api_renderers.JSONRenderer()],
    [TemplateHTMLRenderer(), JSONRenderer(), BrowsableAPIRenderer()],
    [CharsetJSONRenderer(), BrowsableAPIRenderer()],
]


class ParsingNegotiation(JSONFallbackNegotiation):
    """The same negotiation without the shortcut: DRF's parsing, then the JSON fallback."""

    plain_accepts = frozenset()


STAFF = SimpleNamespace(is_staff=True, is_authenticated=True)
MEMBER = SimpleNamespace(is_staff=False, is_authenticated=True)


def request_with(accept: str | None, query: str = "", user: Any = STAFF) -> Request:
    """A request from `user` (staff by default: only staff are offered the browsable API)."""
    headers = {} if accept is None else {"Accept": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/data-sources{query}", headers=headers))
    if user is not None:
        request.user = user
    return request


def answer(negotiation: Any, request: Request, renderers: list[Any]) -> tuple[type, str]:
    renderer, media_type = negotiation.select_renderer(request, renderers)
    return type(renderer), media_type


@pytest.mark.parametrize(
    "renderers", RENDERER_ORDERS, ids=["json first", "browsable first", "html first", "parameters first"]
)
@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json"])
def test_the_common_accept_headers_get_drfs_own_answer(renderers: list[Any], accept: str | None) -> None:
    request = request_with(accept)

    assert answer(JSONFallbackNegotiation(), request, renderers) == answer(ParsingNegotiation(), request, renderers)


@pytest.mark.parametrize("accept", ["application/json; indent=4", "text/html", "text/html, */*"])
def test_other_accept_headers_still_go_through_drf(accept: str) -> None:
    renderers = RENDERER_ORDERS[0]
    request = request_with(accept)

    assert answer(JSONFallbackNegotiation(), request, renderers) == answer(
        DefaultContentNegotiation(), request, renderers
    )


def test_a_format_parameter_still_goes_through_drf() -> None:
    renderers = RENDERER_ORDERS[0]

    assert answer(JSONFallbackNegotiation(), request_with("*/*", "?format=api"), renderers) == (
        BrowsableAPIRenderer,
        "text/html",
    )


@pytest.mark.parametrize("user", [MEMBER, None], ids=["not staff", "anonymous"])
@pytest.mark.parametrize(("accept", "query"), [("text/html", ""), ("text/html, */*", ""), ("*/*", "?format=api")])
@pytest.mark.parametrize("renderers", RENDERER_ORDERS[:2], ids=["json first", "browsable first"])
def test_only_staff_get_the_browsable_api(renderers: list[Any], accept: str, query: str, user: Any) -> None:
    request = request_with(accept, query, user=user)

    assert answer(JSONFallbackNegotiation(), request, renderers) == (api_renderers.JSONRenderer, "application/json")
    assert answer(JSONFallbackNegotiation(), request_with(accept, query), renderers) == (
        BrowsableAPIRenderer,
        "text/html",
    )
