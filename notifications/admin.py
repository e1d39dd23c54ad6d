from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from accounts.admin_mixins import ADMINS, NOBODY, ScopedModelAdmin
from notifications import slack, webhooks
from notifications.models import SlackChannel, WebhookDelivery, WebhookEndpoint
from notifications.outbound import OutboundUrlRefused, outbound_url_check
from peerly.api.exceptions import PeerlyError
from peerly.events import EventType


def _adopt(obj, saved) -> None:
    """The admin goes on with `obj` (log entry, redirect): make it the row the service saved."""
    for field in type(saved)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db


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
        _adopt(obj, channel)

    @admin.display(description="webhook URL")
    def webhook(self, obj: SlackChannel) -> str:
        return obj.webhook_url_masked


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(str(event), str(event)) for event in EventType], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "description", "events", "enabled"]

    actor = None  # set by WebhookEndpointAdmin.get_form

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "").strip()
        try:
            outbound_url_check(url)
        except OutboundUrlRefused as refusal:
            raise forms.ValidationError(refusal.reason) from None
        return url

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and self.actor is not None:
            organization = cleaned.get("organization") if self.actor.is_super_admin else self.actor.organization
            if organization is not None and webhooks.endpoint_limit_reached(organization):
                raise forms.ValidationError(webhooks.LIMIT_MESSAGE)
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ScopedModelAdmin):
    """Organisation admins subscribe their systems to events; the signing secret is shown once."""

    form = WebhookEndpointForm
    list_display = ["url", "description", "event_list", "enabled", "failing_since", "created_at"]
    list_filter = ["enabled"]
    view_roles = add_roles = change_roles = delete_roles = ADMINS

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is not None:
            return ["organization", "url", "description", "events", "enabled", "failing_since", "disabled_reason"]
        return (["organization"] if request.user.is_super_admin else []) + ["url", "description", "events"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A new address is a new endpoint (and a new secret): delete this one and add it.
        return ["organization", "url", "failing_since", "disabled_reason"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = webhooks.webhook_update(
                actor=request.user,
                endpoint=obj,
                events=data["events"],
                description=data["description"],
                enabled=data["enabled"],
            )
            _adopt(obj, saved)
            return
        organization = obj.organization if request.user.is_super_admin else request.user.organization
        saved, secret = webhooks.webhook_create(
            actor=request.user,
            organization=organization,
            url=data["url"],
            events=data["events"],
            description=data["description"],
        )
        _adopt(obj, saved)
        self.message_user(
            request,
            f"Copy the signing secret of this endpoint now, it will not be shown again: {secret}",
            messages.WARNING,
        )

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # the form checks the organisation's limit of endpoints
        return form

    def get_deleted_objects(self, objs, request: HttpRequest):
        # An endpoint's delivery log goes with it (webhook_delete), though no one deletes log rows by hand.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(WebhookDelivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhooks.webhook_delete(actor=request.user, endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for endpoint in queryset:
            webhooks.webhook_delete(actor=request.user, endpoint=endpoint)

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedModelAdmin):
    """The delivery log: one row per attempt, read-only; "Redeliver" sends an event again."""

    organization_lookup = "endpoint__organization"
    list_display = ["created_at", "endpoint", "event_type", "event_id", "attempt", "succeeded", "status_code", "error"]
    list_filter = ["succeeded", "event_type", "redelivery"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id"]
    actions = ["redeliver"]
    view_roles = change_roles = ADMINS  # change: the action only (every field is read-only)
    add_roles = delete_roles = NOBODY

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [field.name for field in WebhookDelivery._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)  # a row is only viewed; the list acts

    def get_list_filter(self, request: HttpRequest):
        return [("endpoint", admin.RelatedOnlyFieldListFilter), *super().get_list_filter(request)]

    @admin.action(description="Redeliver the selected events", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset) -> None:
        sent, refused = set(), []
        for delivery in queryset.select_related("endpoint"):
            key = (delivery.endpoint_id, delivery.event_id)
            if key in sent:
                continue  # one event once per endpoint, however many of its attempts were ticked
            try:
                webhooks.webhook_redeliver(delivery=delivery)
            except PeerlyError:
                refused.append(str(delivery.endpoint))
            else:
                sent.add(key)
        self.message_user(request, f"Queued {len(sent)} redelivery(ies).", messages.SUCCESS)
        if refused:
            names = ", ".join(sorted(set(refused)))
            self.message_user(request, f"Not redelivered (endpoint switched off): {names}", messages.ERROR)
