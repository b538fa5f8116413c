from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from rivergen import health
from rivergen.api import views as api_views
from rivergen.api.docs import RedocView, SwaggerView
from rivergen.api.throttling import throttle_login_attempts

api_v1: list[URLPattern | URLResolver] = [
    re_path(r"^auth/token/?$", api_views.TokenObtainView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", api_views.TokenRefreshView.as_view(), name="token-refresh"),
    path("", include("datasources.api.urls")),
    path("", include("organizations.api.urls")),
    # The OpenAPI 3 schema: YAML, or JSON with ?format=json. Public, like the docs below.
    re_path(r"^schema/?$", SpectacularAPIView.as_view(throttle_classes=[]), name="schema"),
]

urlpatterns = [
    # Liveness and readiness probes. HealthCheckMiddleware answers them first (ahead of
    # host validation and the HTTPS redirect); routed here too for reverse() and clarity.
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    # The login forms spend the token endpoints' "auth" budget; the browsable API's admits
    # staff only, as its sessions do (StaffSessionAuthentication). Ahead of the includes
    # that route the same paths, whose names (admin:login, rest_framework:login) reverse to them.
    path("admin/login/", throttle_login_attempts(admin.site.login)),
    path(
        "api-auth/login/",
        throttle_login_attempts(
            LoginView.as_view(template_name="rest_framework/login.html", authentication_form=AdminAuthenticationForm)
        ),
    ),
    path("admin/", admin.site.urls),
    # Session login for staff browsing the API in a browser.
    path("api-auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1)),
    # API docs, served offline (drf-spectacular-sidecar assets); before the catch-all below.
    re_path(r"^api/docs/?$", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^api/redoc/?$", RedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^api(?:/[\s\S]*)?$", api_views.UnknownAPIRouteView.as_view(), name="api-unknown-route"),
]

handler400 = "rivergen.api.views.bad_request"
handler404 = "rivergen.api.views.page_not_found"
handler500 = "rivergen.api.views.server_error"
