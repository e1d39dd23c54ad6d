from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_mixins import ADMINS, ScopedModelAdmin
from notifications import slack
from notifications.models import SlackChannel
from notifications.outbound import OutboundUrlRefused, outbound_url_check


class SlackChannelForm(forms.ModelForm):
    # A secret: typed in, never shown back (the page shows its masked form); empty keeps the stored one.
    webhook_url = forms.CharField(
        label="Incoming-webhook URL",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "size": 60}),
        help_text="From Slack: Apps > Incoming Webhooks > Add to a channel. Leave empty to keep the current one.",
    )

    class Meta:
        model = SlackChannel
        fields = ["organization", "webhook_url", "enabled"]

    def clean_webhook_url(self) -> str | None:
        url = self.cleaned_data.get("webhook_url", "").strip()
        if not url:
            if self.instance.pk is None:
                raise forms.ValidationError("Paste the incoming-webhook URL Slack gave you.")
            return None
        try:
            outbound_url_check(url)
        except OutboundUrlRefused as refusal:
            raise forms.ValidationError(refusal.reason) from None
        return url


@admin.register(SlackChannel)
class SlackChannelAdmin(ScopedModelAdmin):
    """Organisation admins connect their organisation's Slack channel (new recognitions are posted)."""

    form = SlackChannelForm
    list_display = ["organization", "webhook", "enabled", "updated_at"]
    list_select_related = ["organization"]
    view_roles = add_roles = change_roles = delete_roles = ADMINS

    def get_fields(self, request: HttpRequest, obj=None):
        fields = ["webhook_url", "enabled"]
        if obj is not None:
            return ["organization", "webhook", *fields]
        return (["organization"] if request.user.is_super_admin else []) + fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["organization", "webhook"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: SlackChannel, form, change: bool) -> None:
        organization = obj.organization if (change or request.user.is_super_admin) else request.user.organization
        channel = slack.slack_channel_save(
            actor=request.user,
            organization=organization,
            webhook_url=form.cleaned_data["webhook_url"],
            enabled=form.cleaned_data["enabled"],
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved channel.
        for field in SlackChannel._meta.concrete_fields:
            setattr(obj, field.attname, getattr(channel, field.attname))
        obj._state.adding, obj._state.db = False, channel._state.db

    @admin.display(description="webhook URL")
    def webhook(self, obj: SlackChannel) -> str:
        return obj.webhook_url_masked
