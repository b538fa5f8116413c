from django.contrib import admin
from django.urls import include, path, re_path

from rivergen.api import views as api_views

api_v1 = [
    re_path(r"^auth/token/?$", api_views.TokenObtainView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", api_views.TokenRefreshView.as_view(), name="token-refresh"),
    path("", include("datasources.api.urls")),
    path("", include("organizations.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # Session login for staff browsing the API in a browser.
    path("api-auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1)),
    re_path(r"^api(?:/.*)?$", api_views.UnknownAPIRouteView.as_view(), name="api-unknown-route"),
]

handler400 = "rivergen.api.views.bad_request"
handler404 = "rivergen.api.views.page_not_found"
handler500 = "rivergen.api.views.server_error"
