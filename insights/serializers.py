from rest_framework import serializers

from accounts.serializers import MAX_ID, UserSummarySerializer


class PeriodParamsSerializer(serializers.Serializer):
    """`from` and `to`: calendar days in the organisation's timezone, inclusive (default: the last 30 days)."""

    from_ = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD, organisation's timezone).")
    to = serializers.DateField(required=False, help_text="Last day, inclusive (at most 3 years after `from`).")
    org_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return fields


class ExportParamsSerializer(PeriodParamsSerializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"], required=False, default="csv")


class CoreValueCountSerializer(serializers.Serializer):
    core_value_id = serializers.IntegerField()
    text = serializers.CharField()
    count = serializers.IntegerField()


class MemberStatsSerializer(serializers.Serializer):
    given = serializers.IntegerField(help_text="Recognitions given (visible ones), all time.")
    received = serializers.IntegerField(help_text="Recognitions received (visible ones), all time.")
    hi5s_received = serializers.IntegerField(help_text="Hi5s on the recognitions received.")
    hi5_quota_balance = serializers.IntegerField(help_text="Hi5s left until the renewal.")
    next_renewal_at = serializers.DateTimeField(help_text="When the quota renews, in the organisation's timezone.")
    top_core_values = CoreValueCountSerializer(many=True, help_text="The core values most received for (3).")
    first_given_at = serializers.DateTimeField(allow_null=True)
    last_given_at = serializers.DateTimeField(allow_null=True)
    weeks_streak = serializers.IntegerField(
        help_text="Consecutive weeks (from Monday, ending this week or the last) with a recognition given."
    )

    def to_representation(self, instance) -> dict:
        # The times keep the organisation's offset (DRF would render them in the server's timezone).
        def moment(value):
            return value.isoformat() if value is not None else None

        return {
            "given": instance.given,
            "received": instance.received,
            "hi5s_received": instance.hi5s_received,
            "hi5_quota_balance": instance.hi5_quota_balance,
            "next_renewal_at": moment(instance.next_renewal_at),
            "top_core_values": instance.top_core_values,
            "first_given_at": moment(instance.first_given_at),
            "last_given_at": moment(instance.last_given_at),
            "weeks_streak": instance.weeks_streak,
        }


class TimelineParamsSerializer(PeriodParamsSerializer):
    interval = serializers.ChoiceField(choices=["day", "week", "month"], required=False, default="day")


class LeaderboardParamsSerializer(PeriodParamsSerializer):
    by = serializers.ChoiceField(choices=["received", "given", "hi5s_received"], required=False, default="received")
    core_value_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=10)


class PeriodCountsSerializer(serializers.Serializer):
    recognitions = serializers.IntegerField(help_text="Visible recognitions given in the period.")
    hi5s = serializers.IntegerField(help_text="Hi5s given in the period on visible recognitions.")
    givers = serializers.IntegerField(help_text="Members who gave at least one.")
    receivers = serializers.IntegerField(help_text="Members who received at least one.")
    active_members = serializers.IntegerField(help_text="Members not deleted (now).")
    participation_rate = serializers.FloatField(
        help_text="Active members who gave or received at least one, over active members (0 to 1)."
    )
    by_core_value = CoreValueCountSerializer(many=True, help_text="Every core value, zero included.")


class SummarySerializer(PeriodCountsSerializer):
    from_ = serializers.DateField(help_text="The period's first day.")
    to = serializers.DateField(help_text="The period's last day.")
    previous = PeriodCountsSerializer(help_text="The same counts for the period of equal length just before.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class TimelinePointSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The day, the Monday or the 1st the point begins.")
    recognitions = serializers.IntegerField()
    hi5s = serializers.IntegerField()
    givers = serializers.IntegerField()


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="Equal counts share a rank (1, 2, 2, 4).")
    user = UserSummarySerializer()
    count = serializers.IntegerField()
