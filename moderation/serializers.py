from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from moderation.models import Report, ReportReason, ReportStatus, Review
from recognitions.models import Recognition

REASON_MAX_LENGTH = 1000
COMMENT_MAX_LENGTH = 1000


class ReportCreateSerializer(serializers.Serializer):
    mark_as = serializers.ChoiceField(choices=ReportReason.choices)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class ReviewCreateSerializer(serializers.Serializer):
    is_inappropriate = serializers.BooleanField()
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default="")


class ReportListParamsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReportStatus.choices, required=False)
    mark_as = serializers.ChoiceField(choices=ReportReason.choices, required=False)


class RecognitionSummarySerializer(serializers.ModelSerializer):
    """Enough about the reported recognition to judge it without another request."""

    core_value_id = serializers.IntegerField(read_only=True)
    given_by = UserSummarySerializer(read_only=True)
    given_for = UserSummarySerializer(read_only=True)

    class Meta:
        model = Recognition
        fields = ["id", "text", "core_value_id", "given_by", "given_for", "given_at", "is_hidden"]
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    recognition_id = serializers.IntegerField(read_only=True)
    reported_by = UserSummarySerializer(read_only=True)
    review_id = serializers.IntegerField(read_only=True, allow_null=True)
    recognition = RecognitionSummarySerializer(read_only=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "recognition_id",
            "reported_by",
            "mark_as",
            "reason",
            "status",
            "created_at",
            "review_id",
            "recognition",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    recognition_id = serializers.IntegerField(read_only=True)
    reviewed_by = UserSummarySerializer(read_only=True)
    reports_closed = serializers.SerializerMethodField()
    recognition_is_hidden = serializers.BooleanField(source="recognition.is_hidden", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "recognition_id",
            "reviewed_by",
            "is_inappropriate",
            "comment",
            "reviewed_at",
            "reports_closed",
            "recognition_is_hidden",
        ]
        read_only_fields = fields

    def get_reports_closed(self, review: Review) -> int:
        """How many open reports this review closed."""
        return review.reports.count()
