from django.conf import settings
from django.db import models
from django.utils import timezone

from recognitions.models import Recognition


class ReportReason(models.TextChoices):
    FRAUD = "fraud", "Fraud"
    NOT_RELEVANT = "not_relevant", "Not relevant"
    INCORRECT = "incorrect", "Incorrect"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Review(models.Model):
    """A moderator's decision on a recognition; closes every open report on it."""

    recognition = models.ForeignKey("recognitions.Recognition", on_delete=models.CASCADE, related_name="reviews")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    is_inappropriate = models.BooleanField()
    comment = models.TextField(max_length=1000, blank=True)
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]

    def __str__(self) -> str:
        verdict = "inappropriate" if self.is_inappropriate else "kept"
        return f"Review of #{self.recognition_id}: {verdict}"


class Report(models.Model):
    """A member's flag on a recognition they did not give."""

    recognition = models.ForeignKey("recognitions.Recognition", on_delete=models.CASCADE, related_name="reports")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports")
    mark_as = models.CharField(max_length=20, choices=ReportReason.choices)
    reason = models.TextField(max_length=1000)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    review = models.ForeignKey(Review, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recognition", "reported_by"], name="report_once_per_user"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="report_queue")]

    def __str__(self) -> str:
        return f"Report by {self.reported_by_id} on #{self.recognition_id} ({self.mark_as})"


class ReportedRecognition(Recognition):
    """The moderators' queue in the admin: recognitions that have at least one report."""

    class Meta:
        proxy = True
        verbose_name = "reported recognition"
        verbose_name_plural = "reported recognitions"
