import logging

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from peerly.api.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message = "The database is unavailable"


class HealthView(APIView):
    """Liveness and readiness for load balancers: answers 200 only when the database answers."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Load balancers probe every instance often; a rate-limited probe would take healthy instances out.
    ratelimit_exempt = True

    @extend_schema(
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField(), "database": serializers.CharField()})
        },
        summary="Health check",
        tags=["health"],
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            logger.error("Health check: database unavailable", exc_info=True)
            raise DatabaseUnavailable() from None
        return Response({"status": "ok", "database": "ok"})


class SchemaView(SpectacularAPIView):
    """GET /api/schema, downloaded as `Peerly API.yaml` (drf-spectacular would add " (1)", the version)."""

    def _get_filename(self, request, version):
        return super()._get_filename(request, None)
