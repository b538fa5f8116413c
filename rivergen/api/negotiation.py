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

    def select_renderer(self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            renderer = next(iter(renderers))
            return renderer, renderer.media_type
