from django.urls import path

from accounts import views
from peerly.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("oauth/google", views.GoogleSignInView.as_view(), name="oauth-google"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    *router.urls,
]
