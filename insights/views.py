from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveMember, IsOrgAdmin
from insights import export, selectors
from insights.periods import period_of
from insights.serializers import (
    ExportParamsSerializer,
    LeaderboardEntrySerializer,
    LeaderboardParamsSerializer,
    MemberStatsSerializer,
    PeriodParamsSerializer,
    SummarySerializer,
    TimelineParamsSerializer,
    TimelinePointSerializer,
)

XLSX = export.XLSX_TYPE


class RecognitionExportView(APIView):
    """Organisation admins download a period's recognitions (insights/export.py)."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(
        tags=["insights"],
        parameters=[ExportParamsSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per recognition, streamed."),
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The same rows as a spreadsheet."),
        },
        summary="Export a period's recognitions as CSV or XLSX (organisation admins)",
        description="One row per recognition (hidden ones too, said so): id, given_at in the organisation's "
        "time, giver and receiver names and emails, core value, text, Hi5 count, hidden. Cells that a "
        "spreadsheet would run as a formula are neutralised with a leading apostrophe. XLSX holds at most "
        "1,048,575 rows (Excel's limit): a longer period is 400, ask for CSV.",
    )
    def get(self, request):
        params = ExportParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        organization = selectors.insights_organization(actor=request.user, org_id=data.get("org_id"))
        period = period_of(organization, first_day=data.get("from"), last_day=data.get("to"))
        return export.export_response(organization, period, data["format"])


@extend_schema(tags=["insights"])
class MemberStatsView(APIView):
    permission_classes = [IsActiveMember]

    @extend_schema(
        responses={200: MemberStatsSerializer},
        summary="A member's record: given, received, Hi5s, quota, streak (yours; others' for admins, or for "
        "everyone when the organisation's leaderboard is visible)",
    )
    def get(self, request, pk: str | None = None):
        member = selectors.member_for_stats(actor=request.user, user_id=int(pk) if pk is not None else None)
        return Response(MemberStatsSerializer(selectors.member_stats(member)).data)


def _params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


@extend_schema(tags=["insights"])
class SummaryView(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(
        parameters=[PeriodParamsSerializer],
        responses={200: SummarySerializer},
        summary="The period's recognitions, Hi5s and participation, beside the period before (organisation admins)",
    )
    def get(self, request):
        data = _params(PeriodParamsSerializer, request)
        organization = selectors.insights_organization(actor=request.user, org_id=data.get("org_id"))
        period = period_of(organization, first_day=data.get("from"), last_day=data.get("to"))
        return Response(SummarySerializer(selectors.insights_summary(organization, period)).data)


@extend_schema(tags=["insights"])
class TimelineView(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(
        parameters=[TimelineParamsSerializer],
        responses={200: TimelinePointSerializer(many=True)},
        summary="One point per day, week (from Monday) or month, zero-filled (organisation admins)",
    )
    def get(self, request):
        data = _params(TimelineParamsSerializer, request)
        organization = selectors.insights_organization(actor=request.user, org_id=data.get("org_id"))
        period = period_of(organization, first_day=data.get("from"), last_day=data.get("to"))
        points = selectors.insights_timeline(organization, period, data["interval"])
        return Response(TimelinePointSerializer(points, many=True).data)


@extend_schema(tags=["insights"])
class LeaderboardView(APIView):
    permission_classes = [IsActiveMember]

    @extend_schema(
        parameters=[LeaderboardParamsSerializer],
        responses={200: LeaderboardEntrySerializer(many=True)},
        summary="The period's top members (admins; every member where the organisation's leaderboard is visible)",
    )
    def get(self, request):
        data = _params(LeaderboardParamsSerializer, request)
        organization = selectors.leaderboard_organization(actor=request.user, org_id=data.get("org_id"))
        period = period_of(organization, first_day=data.get("from"), last_day=data.get("to"))
        entries = selectors.insights_leaderboard(
            organization, period, by=data["by"], core_value_id=data.get("core_value_id"), limit=data["limit"]
        )
        return Response(LeaderboardEntrySerializer(entries, many=True).data)
