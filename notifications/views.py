from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgAdmin
from accounts.views import ID_PATTERN
from notifications import selectors, services, webhooks
from notifications.errors import InvalidUnsubscribeLink
from notifications.serializers import (
    NotificationPreferencesSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
)
from peerly.api.exceptions import InvalidData
from peerly.api.pagination import LimitOffsetPagination

SWITCH_LABELS = {
    "email_recognition_received": 'the "you were recognised" emails',
    "email_hi5_received": "the Hi5 emails",
    "email_recognition_hidden": 'the "your recognition was hidden" emails',
    "email_weekly_digest": "the weekly digest",
}


@extend_schema(tags=["notifications"])
class NotificationPreferencesView(APIView):
    @extend_schema(responses={200: NotificationPreferencesSerializer}, summary="Your email notification switches")
    def get(self, request):
        return Response(NotificationPreferencesSerializer(selectors.preferences_of(request.user)).data)

    @extend_schema(
        request=NotificationPreferencesSerializer,
        responses={200: NotificationPreferencesSerializer},
        summary="Turn email notifications on or off (any of the switches)",
    )
    def put(self, request):
        if request.stream is None:  # no body at all is a client's mistake (`{}` changes nothing)
            raise InvalidData(fields={"body": "Send a JSON object with the switches to change."})
        serializer = NotificationPreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences = services.preferences_update(user=request.user, **serializer.validated_data)
        return Response(NotificationPreferencesSerializer(preferences).data)


@never_cache
@csrf_exempt  # RFC 8058: mail providers POST `List-Unsubscribe=One-Click` with no cookie; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest) -> HttpResponse:
    """The link in every notification email. GET asks (link scanners must not unsubscribe anyone);
    POST, from that page or from the mail client's one-click button, turns the email off."""
    token = request.GET.get("token", "")
    try:
        user, switch = (
            services.unsubscribe(token=token) if request.method == "POST" else services.unsubscribe_link_read(token)
        )
    except InvalidUnsubscribeLink:
        context = {"title": "This link is not valid"}
        return TemplateResponse(request, "notifications/unsubscribe.html", context, status=400)
    context = {
        "title": "Email notifications",
        "email": user.email,
        "what": SWITCH_LABELS[switch],
        "done": request.method == "POST",
    }
    return TemplateResponse(request, "notifications/unsubscribe.html", context)


@extend_schema(tags=["webhooks"])
class WebhookViewSet(viewsets.GenericViewSet):
    """Organisation admins subscribe their systems to events (notifications/webhooks.py). No
    `api_key_scopes`: API keys cannot manage webhooks."""

    serializer_class = WebhookEndpointSerializer
    pagination_class = LimitOffsetPagination
    permission_classes = [IsOrgAdmin]
    lookup_value_regex = ID_PATTERN

    @extend_schema(summary="Your organisation's webhook endpoints (never their secrets)")
    def list(self, request):
        return LimitOffsetPagination.page_response(
            request, selectors.webhooks_visible_to(request.user), WebhookEndpointSerializer
        )

    @extend_schema(summary="One webhook endpoint")
    def retrieve(self, request, pk: str):
        return Response(WebhookEndpointSerializer(selectors.webhook_get(actor=request.user, webhook_id=int(pk))).data)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        summary="Subscribe an endpoint to events; the response shows its signing secret this one time",
    )
    def create(self, request):
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = webhooks.webhook_create(
            actor=request.user,
            organization=selectors.webhook_target_organization(actor=request.user, org_id=data.get("org_id")),
            url=data["url"],
            events=data["events"],
            description=data["description"],
        )
        endpoint.secret = secret
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=201)

    @extend_schema(
        request=None,
        responses={200: WebhookEndpointSerializer},
        summary="Delete a webhook endpoint and its delivery log (its pending deliveries are dropped)",
    )
    def destroy(self, request, pk: str):
        endpoint = selectors.webhook_get(actor=request.user, webhook_id=int(pk))
        data = WebhookEndpointSerializer(endpoint).data
        webhooks.webhook_delete(actor=request.user, endpoint=endpoint)
        return Response(data)

    @extend_schema(
        responses={200: WebhookDeliverySerializer(many=True)},
        summary="An endpoint's delivery log, newest first (one row per attempt)",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk: str):
        endpoint = selectors.webhook_get(actor=request.user, webhook_id=int(pk))
        return LimitOffsetPagination.page_response(
            request, selectors.webhook_deliveries(endpoint=endpoint), WebhookDeliverySerializer
        )
