from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from peerly.api.views import HealthView, SchemaView

urlpatterns = [
    path("admin/", include("accounts.backoffice_urls")),  # before the admin: its catch-all
    path("admin/insights/", include("insights.admin_urls")),
    path("admin/", admin.site.urls),
    # Paths exactly as the contract, a trailing slash tolerated, never a redirect.
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^api/schema/?$", SchemaView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("notifications.urls")),  # before accounts: /users/me/notifications
    path("", include("insights.urls")),  # before accounts: /users/me/stats
    path("", include("accounts.urls")),
    path("", include("corevalues.urls")),
    path("", include("recognitions.urls")),
    path("", include("moderation.urls")),
    path("", include("integrations.urls")),
]
