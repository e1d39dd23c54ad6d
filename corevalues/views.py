from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from accounts.permissions import IsActiveMember, IsOrgAdmin
from accounts.views import ID_PATTERN
from corevalues import selectors, services
from corevalues.serializers import (
    CoreValueCreateSerializer,
    CoreValueListParamsSerializer,
    CoreValueSerializer,
    CoreValueWriteSerializer,
)
from peerly.api.pagination import MAX_LIMIT, LimitOffsetPagination


class CoreValuePagination(LimitOffsetPagination):
    """An organisation has a handful of core values: one page holds them all by default."""

    default_limit = MAX_LIMIT


@extend_schema(tags=["core values"])
class CoreValueViewSet(viewsets.GenericViewSet):
    serializer_class = CoreValueSerializer
    pagination_class = CoreValuePagination
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsOrgAdmin]
    # API keys may read core values, never write them (see integrations/scopes.py).
    api_key_scopes = {"list": "core_values:read", "retrieve": "core_values:read"}

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [IsActiveMember()]
        return super().get_permissions()

    @extend_schema(parameters=[CoreValueListParamsSerializer], summary="Your organisation's core values")
    def list(self, request):
        params = CoreValueListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        queryset = selectors.core_value_list(actor=request.user, **params.validated_data)
        return CoreValuePagination.page_response(request, queryset, CoreValueSerializer)

    @extend_schema(summary="A core value")
    def retrieve(self, request, pk: str):
        return Response(CoreValueSerializer(selectors.core_value_get(actor=request.user, core_value_id=int(pk))).data)

    @extend_schema(
        request=CoreValueCreateSerializer,
        responses={201: CoreValueSerializer},
        summary="Create a core value (organisation admins)",
    )
    def create(self, request):
        serializer = CoreValueCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        core_value = services.core_value_create(actor=request.user, **serializer.validated_data)
        return Response(CoreValueSerializer(core_value).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CoreValueWriteSerializer,
        summary="Edit a core value (organisation admins)",
        description="`text` and `description` are required. `parent_core_value_id` and `thumbnail_url` change "
        "only when present (`null` clears them).",
    )
    def update(self, request, pk: str):
        core_value = selectors.core_value_get(actor=request.user, core_value_id=int(pk))
        serializer = CoreValueWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        core_value = services.core_value_update(actor=request.user, core_value=core_value, **serializer.validated_data)
        return Response(CoreValueSerializer(core_value).data)
