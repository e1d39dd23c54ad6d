from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanModerate
from moderation import selectors, services
from moderation.serializers import (
    ReportCreateSerializer,
    ReportListParamsSerializer,
    ReportSerializer,
    ReviewCreateSerializer,
    ReviewSerializer,
)
from peerly.api.pagination import LimitOffsetPagination


class ReportCreateView(APIView):
    @extend_schema(
        request=ReportCreateSerializer,
        responses={201: ReportSerializer},
        summary="Report a recognition (any member but its giver, once)",
        tags=["moderation"],
    )
    def post(self, request, recognition_id: str):
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recognition = selectors.recognition_get_for_report(actor=request.user, recognition_id=int(recognition_id))
        report = services.report_create(actor=request.user, recognition=recognition, **serializer.validated_data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReviewCreateView(APIView):
    permission_classes = [CanModerate]

    @extend_schema(
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer},
        summary="Review a recognition (moderators and admins): closes its open reports, hides or shows it",
        tags=["moderation"],
    )
    def post(self, request, recognition_id: str):
        serializer = ReviewCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recognition = selectors.recognition_get_for_moderation(actor=request.user, recognition_id=int(recognition_id))
        review = services.review_create(actor=request.user, recognition=recognition, **serializer.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ReportListView(APIView):
    permission_classes = [CanModerate]
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[ReportListParamsSerializer],
        responses={200: ReportSerializer(many=True)},
        summary="The moderation queue (moderators and admins): open reports first, then newest",
        tags=["moderation"],
    )
    def get(self, request):
        params = ReportListParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        queryset = selectors.report_list(actor=request.user, **params.validated_data)
        return self.pagination_class.page_response(request, queryset, ReportSerializer)
