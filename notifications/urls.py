from django.urls import re_path

from notifications import views
from peerly.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = [
    re_path(
        r"^users/me/notifications/?$", views.NotificationPreferencesView.as_view(), name="notification-preferences"
    ),
    re_path(r"^notifications/unsubscribe/?$", views.unsubscribe, name="notifications-unsubscribe"),
    *router.urls,
]
