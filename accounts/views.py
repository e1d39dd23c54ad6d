from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.permissions import IsActiveMember, IsOrgAdmin
from accounts.serializers import (
    AuditEventListParamsSerializer,
    AuditEventSerializer,
    GoogleSignInSerializer,
    MessageSerializer,
    ProfileUpdateSerializer,
    RoleUpdateSerializer,
    TokenSerializer,
    UserListParamsSerializer,
    UserSerializer,
)
from peerly.api.pagination import LimitOffsetPagination

ID_PATTERN = r"[0-9]{1,18}"


class GoogleSignInView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    ratelimit_group = "signin"  # counted per client IP: nobody is signed in yet

    @extend_schema(
        request=GoogleSignInSerializer,
        responses={200: TokenSerializer},
        summary="Sign in with a Google access token or ID token",
        tags=["auth"],
    )
    def post(self, request):
        serializer = GoogleSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.user_sign_in_with_google(**serializer.validated_data)
        return Response({"token": issued.token})


class LogoutView(APIView):
    @extend_schema(
        request=None, responses={200: MessageSerializer}, summary="Revoke the presented token", tags=["auth"]
    )
    def post(self, request):
        services.token_revoke(user=request.user, payload=request.auth)
        return Response({"message": "Logged out"})


@extend_schema(tags=["users"])
class UserViewSet(viewsets.GenericViewSet):
    serializer_class = UserSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsOrgAdmin]
    # Integrations: what an API key may call here, and with which scope (see integrations/scopes.py).
    api_key_scopes = {"list": "users:read", "retrieve": "users:read"}

    def get_permissions(self):
        if self.action in ("list", "me"):
            return [IsActiveMember()]
        if self.action == "retrieve" and getattr(self.request.user, "is_api_key", False):
            return [IsActiveMember()]  # a `users:read` key reads its organisation's users (scope checked already)
        return super().get_permissions()

    @extend_schema(parameters=[UserListParamsSerializer], summary="Active members of your organisation")
    def list(self, request):
        params = UserListParamsSerializer.validated(request.query_params.dict())
        limit, offset, before = LimitOffsetPagination.page_params(request)
        if before:  # a page after a cursor
            listing = selectors.member_listing(actor=request.user, **params)
            return LimitOffsetPagination.page_response(request, listing, UserSerializer)
        page = selectors.member_search(actor=request.user, limit=limit, offset=offset, **params)
        return LimitOffsetPagination.counted_page_response(
            limit=limit,
            offset=offset,
            total=page.total,
            items=page.rows,
            serializer_class=UserSerializer,
            keyset=selectors.member_keyset(),
        )

    @extend_schema(summary="A user of your organisation (admins)")
    def retrieve(self, request, pk: str):
        return Response(UserSerializer(selectors.user_get(actor=request.user, user_id=int(pk))).data)

    @extend_schema(request=RoleUpdateSerializer, summary="Change a user's role (admins)")
    def update(self, request, pk: str):
        user = selectors.user_get(actor=request.user, user_id=int(pk))
        serializer = RoleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_change_role(actor=request.user, user=user, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=None, responses={200: UserSerializer}, summary="Soft-delete a user (admins); their recognitions stay"
    )
    def destroy(self, request, pk: str):
        user = selectors.user_get(actor=request.user, user_id=int(pk))
        return Response(UserSerializer(services.user_soft_delete(actor=request.user, user=user)).data)

    @extend_schema(methods=["GET"], summary="Your own profile")
    @extend_schema(methods=["PUT"], request=ProfileUpdateSerializer, summary="Update your own profile")
    @action(detail=False, methods=["get", "put"])
    def me(self, request):
        if request.method == "PUT":
            serializer = ProfileUpdateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(UserSerializer(request.user).data)


@extend_schema(tags=["audit"])
class AuditEventViewSet(viewsets.GenericViewSet):
    """Organisation admins read their organisation's audit trail (super admins: any, with `org_id`)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsOrgAdmin]
    lookup_value_regex = ID_PATTERN

    @extend_schema(
        parameters=[AuditEventListParamsSerializer],
        summary="Who changed what in your organisation, newest first (admins)",
    )
    def list(self, request):
        params = AuditEventListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        filters["from_"] = filters.pop("from", None)
        queryset = selectors.audit_event_list(actor=request.user, **filters)
        return LimitOffsetPagination.page_response(request, queryset, AuditEventSerializer)

    @extend_schema(summary="One audit event (admins)")
    def retrieve(self, request, pk: str):
        return Response(AuditEventSerializer(selectors.audit_event_get(actor=request.user, event_id=int(pk))).data)
