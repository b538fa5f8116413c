from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JSONFallbackNegotiation(DefaultContentNegotiation):
    """Answer JSON when the Accept header asks for nothing we render.

    The contract promises JSON out; a client sending an odd Accept header gets JSON
    rather than a 406 the contract does not know, and an unknown `?format=` (DRF
    answers 404 to it) is an unknown query parameter like any other: ignored.
    """

    #: Accept headers answered without parsing: what nearly every API client sends.
    plain_accepts = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None) -> Any:
        accept = request.META.get("HTTP_ACCEPT", "")
        if (
            accept in self.plain_accepts
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            # DRF's own answer to these (tests/api/test_negotiation.py), without parsing media
            # types against every renderer: ~20 µs of each request's CPU.
            renderers = list(renderers)
            for renderer in renderers:
                if accept == "application/json" and renderer.media_type != "application/json":
                    continue
                if ";" not in renderer.media_type:
                    return renderer, renderer.media_type
                break  # a media type with parameters: DRF's own precedence rules
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            renderer = next(iter(renderers))
            return renderer, renderer.media_type
