from django.urls import re_path

from accounts import views
from peerly.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("audit_events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    re_path(r"^oauth/google/?$", views.GoogleSignInView.as_view(), name="oauth-google"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="logout"),
    *router.urls,
]
