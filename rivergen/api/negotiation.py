from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer


class JSONFallbackNegotiation(DefaultContentNegotiation):
    """Answer JSON when the Accept header asks for nothing we render.

    The contract promises JSON out; a client sending an odd Accept header gets JSON
    rather than a 406 the contract does not know, and an unknown `?format=` (DRF
    answers 404 to it) is an unknown query parameter like any other: ignored. The
    browsable API's HTML is for staff only; anyone else asking for it gets JSON.
    """

    #: Accept headers answered without parsing: what nearly every API client sends.
    plain_accepts = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None) -> Any:
        renderers = list(renderers)
        renderer, media_type = self._drfs_answer(request, renderers, format_suffix)
        if isinstance(renderer, BrowsableAPIRenderer) and not request.user.is_staff:
            # Staff browse the API (contract §1); anyone else gets what the API speaks. Reading
            # the user authenticates now: a failure is answered, in JSON, as it would be later.
            renderer = next((other for other in renderers if not isinstance(other, BrowsableAPIRenderer)), renderer)
            return renderer, renderer.media_type
        return renderer, media_type

    def _drfs_answer(self, request: Any, renderers: list[Any], format_suffix: str | None) -> Any:
        accept = request.META.get("HTTP_ACCEPT", "")
        if (
            accept in self.plain_accepts
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            # DRF's own answer to these (tests/api/test_negotiation.py), without parsing media
            # types against every renderer: ~20 µs of each request's CPU.
            for renderer in renderers:
                if accept == "application/json" and renderer.media_type != "application/json":
                    continue
                if ";" not in renderer.media_type:
                    return renderer, renderer.media_type
                break  # a media type with parameters: DRF's own precedence rules
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            return renderers[0], renderers[0].media_type
