"""The organisation's Slack channel: its incoming-webhook URL (checked like every outbound address,
notifications/outbound.py), and each new recognition posted there with Block Kit through slack-sdk's
WebhookClient. The URL is a secret: the audit trail records that it changed, never its value, and
nothing logs it.
"""

import logging

from django.db import transaction
from slack_sdk.webhook import WebhookClient, WebhookResponse

from accounts.models import Organization, User
from audit.models import AuditAction, AuditTarget
from audit.services import audit_record
from notifications import outbound
from notifications.models import SlackChannel
from notifications.outbound import TIMEOUT_SECONDS, OutboundUrlRefused, outbound_url_check
from recognitions.models import Recognition

logger = logging.getLogger(__name__)


class SlackDeliveryFailed(Exception):
    """Slack did not take the message (the job is retried). Its text never holds the URL."""


def slack_channel_save(
    *, actor: User | None, organization: Organization, webhook_url: str | None, enabled: bool
) -> SlackChannel:
    """Set the organisation's Slack channel; `webhook_url` None keeps the stored one. Refuses
    (OutboundUrlRefused) a URL Peerly must not send to. Audited without the URL."""
    if webhook_url is not None:
        outbound_url_check(webhook_url)
    with transaction.atomic():
        channel = SlackChannel.objects.select_for_update().filter(organization=organization).first()
        before = {
            "slack_enabled": channel.enabled if channel else None,
            "slack_webhook_url": "set" if channel else None,
        }
        if channel is None:
            if webhook_url is None:
                raise OutboundUrlRefused("A webhook URL is required.")
            channel = SlackChannel(organization=organization)
        url_changed = webhook_url is not None and webhook_url != channel.webhook_url
        if webhook_url is not None:
            channel.webhook_url = webhook_url
        channel.enabled = enabled
        channel.save()
        after = {"slack_enabled": enabled, "slack_webhook_url": "changed" if url_changed else "set"}
        changed = [name for name in after if before[name] != after[name]]
        if changed:
            audit_record(
                action=AuditAction.ORGANIZATION_UPDATED,
                target_type=AuditTarget.ORGANIZATION,
                target_id=organization.pk,
                organization_id=organization.pk,
                actor=actor,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )
    return channel


class _WebhookClient(WebhookClient):
    """slack-sdk's client, sending through notifications.outbound.send: to the address the check vetted
    (no second resolution), redirects are answers, not followed, at most 64 KB of an answer is read,
    5 s in all. (It overrides the one method of slack-sdk 3.48, pinned, that opens the connection;
    notifications/tests/test_slack.py holds it to that.)"""

    def __init__(self, *, addresses: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.addresses = addresses

    def _perform_http_request_internal(self, url: str, req) -> WebhookResponse:
        answer = outbound.send(req, addresses=self.addresses, timeout=self.timeout)
        body = answer.body.decode("utf-8", "replace")
        return WebhookResponse(url=url, status_code=answer.status, body=body, headers=answer.headers)


def _escape(text: str) -> str:
    """Slack's mrkdwn: &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def recognition_blocks(recognition: Recognition) -> tuple[str, list[dict]]:
    giver, receiver = recognition.given_by.display_name, recognition.given_for.display_name
    value = recognition.core_value.text
    fallback = f"{giver} recognised {receiver} for {value}: {recognition.text}"
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":raised_hands: *{_escape(giver)}* recognised *{_escape(receiver)}* for *{_escape(value)}*",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "> " + _escape(recognition.text).replace("\n", "\n> ")}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{_escape(recognition.organization.name)} · Peerly"}],
        },
    ]
    return fallback, blocks


def slack_deliver(*, event: dict) -> bool:
    """Post a new recognition to its organisation's channel if it still holds; whether it was posted."""
    recognition = (
        Recognition.objects.select_related("given_by", "given_for", "core_value", "organization")
        .filter(pk=event["recognition_id"], organization_id=event["organization_id"], is_hidden=False)
        .first()
    )
    channel = SlackChannel.objects.filter(organization_id=event["organization_id"], enabled=True).first()
    if recognition is None or channel is None:
        return False
    try:
        addresses = outbound_url_check(channel.webhook_url)  # again: DNS may have changed since it was saved
    except OutboundUrlRefused as refusal:
        logger.warning(
            "Slack webhook of organisation %s refused: %s",
            event["organization_id"],
            refusal.reason,
            extra={"event": "slack_refused"},
        )
        return False
    fallback, blocks = recognition_blocks(recognition)
    try:
        client = _WebhookClient(url=channel.webhook_url, timeout=TIMEOUT_SECONDS, addresses=addresses)
        answer = client.send(text=fallback, blocks=blocks)
    except OSError as error:  # unreachable, timed out
        raise SlackDeliveryFailed(f"Slack unreachable: {type(error).__name__}") from None
    if answer.status_code != 200:
        raise SlackDeliveryFailed(f"Slack answered {answer.status_code}")
    return True
