from peerly.api.routers import OptionalSlashRouter
from recognitions import views

router = OptionalSlashRouter()
router.register("recognitions", views.RecognitionViewSet, basename="recognition")

urlpatterns = router.urls
