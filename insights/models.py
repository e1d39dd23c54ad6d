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


class Kind(models.TextChoices):
    GIVEN = "given"  # visible recognitions given
    RECEIVED = "received"  # visible recognitions received
    HI5S = "hi5s", "Hi5s"  # Hi5s received on visible recognitions


SPAN_YEARS = 4  # MemberDays.span: the first year of a four-year span (2024 for 2024-2027)


class MemberDays(models.Model):
    """One member's days of one kind (given, received, Hi5s received) in a span of four years: a sorted
    array of day numbers (days since 1970-01-01 in the organisation's timezone), one element per
    recognition or Hi5, repeated when several fall on one day.

    A sorted array answers "how many in a period" with two binary searches in C (`width_bucket(last,
    days) - width_bucket(first - 1, days)`), so distinct givers, receivers, participation and rankings
    over any period read one or two small rows per member, whatever the period's length or the number of
    recognitions in it. A row holds four years so that it stays small: each write rewrites the array it
    grows.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    span = models.IntegerField()
    days = ArrayField(models.IntegerField(), default=list)

    class Meta:
        verbose_name_plural = "member days"
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "span"], name="insights_member_days_unique"),
        ]
        indexes = [models.Index(fields=["organization", "kind", "span"], name="insights_member_days_read")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} from {self.span}"


class MemberValueDays(models.Model):
    """`MemberDays` for one core value: the leaderboard of one core value. A table of its own, so that
    the rows of every core value, which the other insights read, stay together on few pages."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    core_value = models.ForeignKey("corevalues.CoreValue", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    span = models.IntegerField()
    days = ArrayField(models.IntegerField(), default=list)

    class Meta:
        verbose_name_plural = "member value days"
        constraints = [
            models.UniqueConstraint(fields=["member", "core_value", "kind", "span"], name="insights_value_days_unique"),
        ]
        indexes = [models.Index(fields=["organization", "core_value", "kind", "span"], name="insights_value_days_read")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} for {self.core_value_id} from {self.span}"


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


class History(models.Model):
    """Per organisation, a version of its closed days (those before yesterday, in its timezone): moved in
    the writer's transaction by any change the rollups take for such a day (a hide, a restore, an edit or a
    delete of an older recognition or Hi5), by a rebuild (a timezone change) and by a member's soft delete
    or restore (rankings and participation leave deleted members out). What the insights read of closed
    days is cached under it (insights/selectors.py); a new recognition or Hi5 (today's) leaves it alone."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "histories"

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.version}"
