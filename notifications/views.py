from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.errors import InvalidUnsubscribeLink
from notifications.serializers import NotificationPreferencesSerializer
from peerly.api.exceptions import InvalidData

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
