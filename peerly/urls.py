from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from peerly.api.views import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", HealthView.as_view(), name="health"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
    path("", include("corevalues.urls")),
    path("", include("recognitions.urls")),
    path("", include("moderation.urls")),
]

admin.site.site_header = "Peerly administration"
admin.site.site_title = "Peerly administration"
admin.site.index_title = "Back office"
# The API has no HTML home page to link to.
admin.site.site_url = None
