from django.db import models
from django.db.models.functions import Lower


class CoreValue(models.Model):
    """A value the organisation lives by; at most two levels (a top-level value and its children)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="core_values")
    text = models.CharField(max_length=100)
    description = models.TextField(max_length=2000)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name="parent value"
    )
    thumbnail_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("organization", Lower("text"), name="core_value_text_unique_in_org"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="core_value_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.text
