from django.urls import re_path

from integrations import views
from peerly.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api_keys", views.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    re_path(r"^users/sync/?$", views.UserSyncView.as_view(), name="users-sync"),
    *router.urls,
]
