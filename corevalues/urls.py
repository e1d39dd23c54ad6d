from corevalues import views
from peerly.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("core_values", views.CoreValueViewSet, basename="core-value")

urlpatterns = router.urls
