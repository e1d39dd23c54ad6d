from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.views import ID_PATTERN
from peerly.api.idempotency import idempotent
from peerly.api.pagination import LimitOffsetPagination
from recognitions import selectors, services
from recognitions.serializers import (
    Hi5CreateSerializer,
    Hi5Serializer,
    RecognitionCreateSerializer,
    RecognitionFeedParamsSerializer,
    RecognitionSerializer,
)


@extend_schema(tags=["recognitions"])
class RecognitionViewSet(viewsets.GenericViewSet):
    serializer_class = RecognitionSerializer
    pagination_class = LimitOffsetPagination
    lookup_value_regex = ID_PATTERN
    # API keys may read the feed; giving recognitions and Hi5s stays a person's act (see integrations/scopes.py).
    api_key_scopes = {"list": "recognitions:read", "retrieve": "recognitions:read"}

    @extend_schema(
        parameters=[RecognitionFeedParamsSerializer],
        summary="The recognitions feed, newest first",
        description="Filters combine with AND; a comma-separated list matches any of its ids. Recognitions "
        "hidden by a moderator are never listed nor counted.",
    )
    def list(self, request):
        params = RecognitionFeedParamsSerializer.validated(request.query_params)
        feed = selectors.recognition_feed(actor=request.user, **params)
        return LimitOffsetPagination.page_response(request, feed, RecognitionSerializer)

    @extend_schema(summary="A recognition (a hidden one only for moderators and admins)")
    def retrieve(self, request, pk: str):
        recognition = selectors.recognition_get(actor=request.user, recognition_id=int(pk))
        return Response(RecognitionSerializer(recognition).data)

    @extend_schema(
        request=RecognitionCreateSerializer,
        responses={201: RecognitionSerializer},
        summary="Recognise a colleague for a core value (spends 1 Hi5)",
    )
    @idempotent
    def create(self, request):
        serializer = RecognitionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recognition = services.recognition_create(actor=request.user, **serializer.validated_data)
        return Response(RecognitionSerializer(recognition).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: Hi5Serializer(many=True)}, summary="Who gave Hi5s, newest first")
    @extend_schema(
        methods=["POST"],
        request=Hi5CreateSerializer,
        responses={201: Hi5Serializer},
        summary="Give a Hi5 (spends 1 Hi5; once per recognition; not on your own)",
    )
    @action(detail=True, methods=["get", "post"], url_path="hi5")
    @idempotent
    def hi5(self, request, pk: str):
        if request.method == "GET":
            recognition = selectors.recognition_get(actor=request.user, recognition_id=int(pk))
            return LimitOffsetPagination.page_response(
                request, selectors.hi5_list(recognition=recognition), Hi5Serializer
            )
        recognition = selectors.recognition_for_hi5(actor=request.user, recognition_id=int(pk))
        serializer = Hi5CreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hi5 = services.hi5_give(actor=request.user, recognition=recognition, **serializer.validated_data)
        return Response(Hi5Serializer(hi5).data, status=status.HTTP_201_CREATED)
