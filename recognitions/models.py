from django.conf import settings
from django.db import models
from django.utils import timezone


class RecognitionQuerySet(models.QuerySet):
    def visible(self) -> "RecognitionQuerySet":
        """Not hidden by a moderator's review: in feeds and counts, and open to Hi5s."""
        return self.filter(is_hidden=False)


class Recognition(models.Model):
    """One colleague recognising another for living a core value."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="recognitions")
    core_value = models.ForeignKey("corevalues.CoreValue", on_delete=models.PROTECT, related_name="recognitions")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recognitions_given")
    given_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recognitions_received"
    )
    text = models.TextField(max_length=1000)
    given_at = models.DateTimeField(default=timezone.now)
    # Set by a moderator's review: hidden recognitions leave feeds and counts and take no Hi5.
    is_hidden = models.BooleanField(default=False)

    objects = RecognitionQuerySet.as_manager()

    class Meta:
        ordering = ["-given_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(given_by=models.F("given_for")), name="recognition_not_self"),
        ]
        indexes = [
            models.Index(
                fields=["organization", "-given_at", "-id"],
                condition=models.Q(is_hidden=False),
                name="recognition_feed",
            ),
            models.Index(
                fields=["given_for", "-given_at", "-id"], condition=models.Q(is_hidden=False), name="recognition_for"
            ),
            models.Index(
                fields=["given_by", "-given_at", "-id"], condition=models.Q(is_hidden=False), name="recognition_by"
            ),
            models.Index(
                fields=["core_value", "-given_at", "-id"],
                condition=models.Q(is_hidden=False),
                name="recognition_core_value",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.given_by_id} -> {self.given_for_id}"


class Hi5(models.Model):
    """A "high five" on a recognition; each spends one from the giver's quota."""

    recognition = models.ForeignKey(Recognition, on_delete=models.CASCADE, related_name="hi5s")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hi5s_given")
    comment = models.TextField(max_length=500, blank=True)
    given_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Hi5"
        verbose_name_plural = "Hi5s"
        ordering = ["-given_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recognition", "given_by"], name="hi5_once_per_user"),
        ]
        # The insights' live days (yesterday on): the Hi5s given since, read directly (insights/selectors.py).
        indexes = [models.Index(fields=["given_at"], name="hi5_given_at")]

    def __str__(self) -> str:
        return f"Hi5 by {self.given_by_id} on #{self.recognition_id}"


class QuotaRenewal(models.Model):
    """Records that an organisation's balances were renewed for a period, so a re-run changes nothing."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="renewals")
    period_start = models.DateField()
    renewed_at = models.DateTimeField(auto_now_add=True)
    users_renewed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "period_start"], name="quota_renewal_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} @ {self.period_start}"


class RecognitionCounter(models.Model):
    """How many visible recognitions an organisation has per core value: the feed's exact `meta.total`.

    Maintained by PostgreSQL triggers on the recognitions table (migration 0002), in the transaction of the
    write itself, whatever writes (services, the admin, a moderator's review, bulk updates): counting a
    million rows on every feed request is what this table saves. Not maintained on SQLite (local demos),
    where the feed counts instead. `manage.py recount_recognitions` rebuilds it from the table.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    core_value = models.ForeignKey("corevalues.CoreValue", on_delete=models.CASCADE, related_name="+")
    visible = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "core_value"], name="recognition_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.core_value_id}: {self.visible}"
