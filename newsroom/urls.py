from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from newsroom import views
from newsroom.api import router

urlpatterns = [
    path("", include("stories.urls")),
    path("", include("sources.urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links: send them to the icon.
    path("favicon.ico", views.favicon, name="favicon"),
    # The unversioned root points at the current version's index of endpoints.
    path("api/", RedirectView.as_view(pattern_name="api-root", permanent=False)),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Our own page around Swagger UI: the language, landmarks and contrast are ours to set.
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", template_name="newsroom/swagger_ui.html"),
        name="api-docs",
    ),
]

# Under /api/ these answer in the API's JSON error shape.
handler404 = "newsroom.views.page_not_found"
handler500 = "newsroom.views.server_error"
