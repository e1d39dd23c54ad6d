"""The insights' rollups: what the dashboard and the insights API read instead of counting recognitions.

PostgreSQL keeps them exact by itself: statement-level triggers on the recognitions and Hi5s tables
(migration 0001) apply every change in the writer's own transaction, whoever writes (services, the
admin, a moderator's review, bulk updates, the benchmark's bulk load). Days are calendar days in the
organisation's timezone; changing the timezone rebuilds the organisation's rollups in that same
transaction. Hidden recognitions and their Hi5s are never in them. `manage.py rebuild_insights`
recomputes them from the tables.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class OrganizationDay(models.Model):
    """Per organisation, day and core value: the visible recognitions given that day, and the Hi5s given
    that day on visible recognitions of that core value. A few thousand rows a year per organisation."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    core_value = models.ForeignKey("corevalues.CoreValue", on_delete=models.CASCADE, related_name="+")
    recognitions = models.IntegerField(default=0)
    hi5s = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day", "core_value"], name="insights_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.core_value_id}: {self.recognitions}/{self.hi5s}"


class MemberYear(models.Model):
    """One member's activity in one (local) calendar year, as sorted arrays of day numbers (days since
    1970-01-01 in the organisation's timezone, one element per recognition or Hi5, repeated when several
    fall on one day).

    A sorted array answers "how many in [first, last]" with two binary searches in C
    (`width_bucket(last, days) - width_bucket(first - 1, days)`), so distinct givers, receivers,
    participation and rankings over any period read one row per member and year, whatever the period's
    length or the number of recognitions in it.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField()
    given_days = ArrayField(models.IntegerField(), default=list)  # visible recognitions given
    received_days = ArrayField(models.IntegerField(), default=list)  # visible recognitions received
    hi5_days = ArrayField(models.IntegerField(), default=list)  # Hi5s received on visible recognitions

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="insights_member_year_unique"),
        ]
        indexes = [models.Index(fields=["organization", "year"], name="insights_member_year_org")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.year}"


class MemberValueYear(models.Model):
    """A member's activity in one year for one core value: `MemberYear`'s arrays, for the leaderboard of
    one core value (a twentieth of the rows, say, instead of every recognition of the period)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    core_value = models.ForeignKey("corevalues.CoreValue", on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField()
    given_days = ArrayField(models.IntegerField(), default=list)
    received_days = ArrayField(models.IntegerField(), default=list)
    hi5_days = ArrayField(models.IntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "core_value", "year"], name="insights_member_value_year_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "core_value", "year"], name="insights_member_value_year_org"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} for {self.core_value_id} in {self.year}"


class Interval(models.TextChoices):
    DAY = "day"
    WEEK = "week"  # from Monday
    MONTH = "month"


class GiverCount(models.Model):
    """How many members gave at least one visible recognition in a day, week or month of an organisation
    (distinct givers do not add up from days to weeks: each interval has its own count)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(max_length=5, choices=Interval.choices)
    start = models.DateField()
    givers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "unit", "start"], name="insights_givers_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.unit} {self.start}: {self.givers}"
