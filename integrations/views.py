from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgAdmin
from accounts.views import ID_PATTERN
from integrations import selectors, services, sync
from integrations.models import ApiKeyScope
from integrations.parsers import SyncBatchJSONParser
from integrations.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    UserSyncResultSerializer,
    UserSyncSerializer,
)
from peerly.api.pagination import LimitOffsetPagination


@extend_schema(tags=["api keys"])
class ApiKeyViewSet(viewsets.GenericViewSet):
    """Organisation admins manage their organisation's keys. No `api_key_scopes`: keys cannot manage keys."""

    serializer_class = ApiKeySerializer
    permission_classes = [IsOrgAdmin]
    lookup_value_regex = ID_PATTERN

    @extend_schema(summary="Your organisation's API keys (never their secrets)")
    def list(self, request):
        return LimitOffsetPagination.page_response(
            request, selectors.api_key_list(actor=request.user), ApiKeySerializer
        )

    @extend_schema(summary="One API key")
    def retrieve(self, request, pk: str):
        return Response(ApiKeySerializer(selectors.api_key_get(actor=request.user, key_id=int(pk))).data)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        summary="Create an API key; the response shows its secret this one time",
    )
    def create(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, secret = services.api_key_create(
            organization=selectors.api_key_target_organization(actor=request.user, org_id=data.get("org_id")),
            created_by=request.user,
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
        )
        key.key = secret
        return Response(ApiKeyCreatedSerializer(key).data, status=201)

    @extend_schema(request=None, responses={200: ApiKeySerializer}, summary="Revoke an API key (stops it at once)")
    def destroy(self, request, pk: str):
        key = selectors.api_key_get(actor=request.user, key_id=int(pk))
        return Response(ApiKeySerializer(services.api_key_revoke(key=key, actor=request.user)).data)


class UserSyncView(APIView):
    """HRIS sync: API keys with `users:sync`, or an organisation admin (for their own organisation)."""

    api_key_scopes = {"POST": ApiKeyScope.USERS_SYNC}
    permission_classes = [IsOrgAdmin]
    # A batch of 1,000 employees is larger than the body limit of every other endpoint.
    parser_classes = [SyncBatchJSONParser]

    def get_permissions(self):
        # An API key's scope was checked by ApiKeyAuthentication; people must be organisation admins.
        if getattr(self.request.user, "is_api_key", False):
            return []
        return super().get_permissions()

    @extend_schema(
        request=UserSyncSerializer,
        responses={200: UserSyncResultSerializer},
        summary="Sync up to 1,000 employees from an HR system, all or nothing",
        tags=["users"],
        examples=[
            OpenApiExample(
                "Two employees, one leaver",
                request_only=True,
                value={
                    "users": [
                        {"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee", "active": True},
                        {"email": "bob@acme.example", "first_name": "Bob", "last_name": "Ray", "active": False},
                    ],
                    "deactivate_missing": False,
                },
            )
        ],
    )
    def post(self, request):
        serializer = UserSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if getattr(request.user, "is_api_key", False):
            organization, actor, api_key = request.user.organization, None, request.auth
        else:
            organization, actor, api_key = sync.sync_actor_organization(actor=request.user), request.user, None
        result = sync.users_sync(
            organization=organization,
            rows=data["users"],
            deactivate_missing=data["deactivate_missing"],
            dry_run=data["dry_run"],
            actor=actor,
            api_key=api_key,
        )
        return Response(UserSyncResultSerializer(result).data)
