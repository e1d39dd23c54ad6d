from django.conf import settings
from django.db import models


class NotificationPreferences(models.Model):
    """A member's email switches (all on until they change one: no row means every default). Their row
    is also what their grouped Hi5 email and the Hi5s joining it lock (notifications.services)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_preferences"
    )
    email_recognition_received = models.BooleanField(default=True, help_text="You were recognised.")
    email_hi5_received = models.BooleanField(default=True, help_text="Someone Hi5'd a recognition of yours.")
    email_recognition_hidden = models.BooleanField(default=True, help_text="A moderator hid your recognition.")
    email_weekly_digest = models.BooleanField(default=True, help_text="Your week in Peerly.")
    updated_at = models.DateTimeField(auto_now=True)

    SWITCHES = ("email_recognition_received", "email_hi5_received", "email_recognition_hidden", "email_weekly_digest")

    class Meta:
        verbose_name = "notification preferences"
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class Hi5Note(models.Model):
    """A Hi5 noted for its recognition's receiver when its event was fanned out (in a worker, after the Hi5
    committed): their next grouped Hi5 email takes the notes not taken yet. A taken note is kept a week, so
    a fan-out run again (its worker died after committing) finds it and notes nothing twice; a daily job
    forgets older ones (notifications.services.hi5_notes_purge)."""

    hi5 = models.OneToOneField("recognitions.Hi5", on_delete=models.CASCADE, primary_key=True, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField(
        null=True, blank=True, help_text="When an email took it (sent, or dropped: hidden, switched off, deleted)."
    )

    def __str__(self) -> str:
        return f"Hi5 {self.hi5_id} for {self.recipient_id}"


class DigestRun(models.Model):
    """One organisation's weekly digests were sent for a week: unique, so a week is never sent twice."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday (local) the digest was due; it tells of the week before.")
    members = models.PositiveIntegerField(help_text="Active members the digests were deferred for.")
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "week_start"], name="digest_once_a_week")]

    def __str__(self) -> str:
        return f"Digests of {self.organization_id} for the week of {self.week_start}"


class SlackChannel(models.Model):
    """Where an organisation's recognitions are announced in Slack: an incoming-webhook URL (a secret:
    never shown back in full, never logged) and an on/off switch."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="slack")
    webhook_url = models.CharField(
        "incoming-webhook URL",
        max_length=500,
        help_text="From Slack: Apps > Incoming Webhooks > Add to a channel (https://hooks.slack.com/services/...).",
    )
    enabled = models.BooleanField(default=True, help_text="Post each new recognition to the channel.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Slack channel"

    def __str__(self) -> str:
        return f"Slack channel of {self.organization}"

    @property
    def webhook_url_masked(self) -> str:
        """Enough to recognise it, not enough to use it."""
        url = self.webhook_url
        return f"{url[:34]}…{url[-4:]}" if len(url) > 40 else "…" + url[-4:]


class WebhookEndpoint(models.Model):
    """Where an organisation's events are POSTed for another system, signed with the endpoint's secret.

    The secret is stored as it is (each delivery signs with it) and shown once, at creation: neither the
    API nor the admin shows it again. An endpoint failing for 3 days is switched off (`disabled_at`)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField("URL", max_length=500, help_text="https:// only; Peerly POSTs each event here.")
    description = models.CharField(max_length=200, blank=True, help_text="What receives these, e.g. “HRIS”.")
    events = models.JSONField(default=list, help_text="The event types sent here.")
    secret = models.CharField(max_length=64, editable=False)
    enabled = models.BooleanField(default=True, help_text="Send events here.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The first failed delivery since the last one that worked."
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one endpoint: the delivery log."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=36, help_text="Peerly-Event-Id: the same on every attempt.")
    event_type = models.CharField(max_length=40)
    event = models.JSONField(help_text="The event's ids (what a redelivery sends again).")
    attempt = models.PositiveIntegerField(help_text="1 for the first try of a delivery job.")
    redelivery = models.BooleanField(default=False, help_text="Asked for again by an admin.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The receiver's answer.")
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} #{self.attempt}"
