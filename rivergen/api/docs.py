"""The API docs pages: Swagger UI at /api/docs and ReDoc at /api/redoc, fully offline.

Kept apart from rivergen.api.schema: drf_spectacular.views imports the schema class,
so the schema module cannot import these views back.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.template import engines
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.renderers import TemplateHTMLRenderer

#: The docs pages load nothing from another origin: their assets are drf-spectacular-sidecar's
#: static files. The UIs inline their own styles and boot scripts, and ReDoc runs its search
#: in a blob: worker. (ReDoc's sidebar also shows a logo from its CDN; this policy blocks it.)
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ]
)

# drf-spectacular's ReDoc page links Google Fonts; this one does not.
_OFFLINE_REDOC_TEMPLATE = """{% extends "drf_spectacular/redoc.html" %}
{% block head %}
<title>{{ title|default:"Redoc" }}</title>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>
{% endblock head %}
"""


class _OfflineRedocRenderer(TemplateHTMLRenderer):
    def resolve_template(self, template_names: Iterable[str]) -> Any:
        return engines["django"].from_string(_OFFLINE_REDOC_TEMPLATE)


class _ContentSecurityPolicyMixin:
    # Pages to read: any other method answers 405 (OPTIONS found no template to render: 500).
    http_method_names: Sequence[str] = ["get", "head"]

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response.headers.setdefault("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY)
        return response


class SwaggerView(_ContentSecurityPolicyMixin, SpectacularSwaggerView):
    """Swagger UI at /api/docs, assets from drf-spectacular-sidecar."""

    throttle_classes = ()  # a static page: not on the token endpoint's anonymous budget


class RedocView(_ContentSecurityPolicyMixin, SpectacularRedocView):
    """ReDoc at /api/redoc, assets from drf-spectacular-sidecar and no web fonts."""

    renderer_classes = [_OfflineRedocRenderer]
    throttle_classes = ()
