"""Who hears of an event, and how (email; Slack in notifications/slack.py, outgoing webhooks in
notifications/webhooks.py): the rules of the notifications.

`event_fan_out` turns one event (peerly/events.py) into one job per delivery, in one transaction, so
each delivery is retried on its own and a retried fan-out never doubles one. Each delivery re-reads
the state when it runs: a recognition hidden before its email went out is not announced, a member
deleted since (or who switched that email off) gets nothing. Hi5s are grouped: each is noted for its
recognition's receiver (Hi5Note); the first schedules one email 10 minutes later, and the Hi5s noted
meanwhile join it.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import User
from notifications.errors import InvalidUnsubscribeLink
from notifications.models import Hi5Note, NotificationPreferences, SlackChannel, WebhookEndpoint
from notifications.selectors import preferences_of
from peerly.events import EventType, jobs
from recognitions.models import Hi5, Recognition

logger = logging.getLogger(__name__)

EMAIL_TASK = "notifications.email_send"
SLACK_TASK = "notifications.slack_post"
WEBHOOK_TASK = "notifications.webhook_send"
HI5_EMAIL_TASK = "notifications.hi5_email_send"
HI5_EMAIL_DELAY_MINUTES = 10
HI5_EMAIL_ATTEMPTS = 7
HI5_NOTE_DAYS = 7  # how long a taken note is kept (a fan-out run again meanwhile notes nothing twice)
UNSUBSCRIBE_SALT = "peerly.notifications.unsubscribe"


@dataclass(frozen=True)
class EmailKind:
    template: str  # templates/notifications/<template>.txt and .html, and _subject.txt
    recipient: str  # the recognition's attribute naming who receives it
    announce_hidden: bool  # sent only while the recognition is hidden (else only while visible)
    switch: str  # the NotificationPreferences field that turns it off


EMAILS = {
    "recognition_received": EmailKind(
        "recognition_received", "given_for", announce_hidden=False, switch="email_recognition_received"
    ),
    "recognition_hidden": EmailKind(
        "recognition_hidden", "given_by", announce_hidden=True, switch="email_recognition_hidden"
    ),
}
EMAILS_FOR_EVENT = {
    EventType.RECOGNITION_CREATED: ["recognition_received"],
    EventType.RECOGNITION_HIDDEN: ["recognition_hidden"],
}


def event_fan_out(*, event: dict) -> int:
    """Defer the deliveries of one event; how many (a Hi5 joining an email already waiting: none)."""
    event_type = EventType(event["type"])
    recognition = (
        Recognition.objects.filter(pk=event.get("recognition_id"), organization_id=event["organization_id"])
        .only("given_by_id", "given_for_id")
        .first()
    )
    if recognition is None:
        return 0
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(
            organization_id=event["organization_id"], enabled=True, events__contains=[str(event_type)]
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    kinds = EMAILS_FOR_EVENT.get(event_type, [])
    to_slack = (
        event_type == EventType.RECOGNITION_CREATED
        and SlackChannel.objects.filter(organization_id=event["organization_id"], enabled=True).exists()
    )
    with transaction.atomic():
        webhook = jobs(WEBHOOK_TASK)
        for endpoint_id in endpoint_ids:
            webhook.defer(endpoint_id=endpoint_id, event=event)
        if event_type == EventType.HI5_CREATED:
            return len(endpoint_ids) + _hi5_note(
                hi5_id=event["hi5_id"], recipient_id=recognition.given_for_id, organization_id=event["organization_id"]
            )
        email = jobs(EMAIL_TASK)
        for kind in kinds:
            recipient_id = getattr(recognition, f"{EMAILS[kind].recipient}_id")
            email.defer(kind=kind, event=event, recipient_id=recipient_id)
        if to_slack:
            jobs(SLACK_TASK).defer(event=event)
    return len(endpoint_ids) + len(kinds) + to_slack


def _preferences_locked(user_id: int) -> NotificationPreferences:
    """The member's preferences row, locked to the end of the transaction (created if they have none)."""
    preferences, _ = NotificationPreferences.objects.select_for_update().get_or_create(user_id=user_id)
    return preferences


def _hi5_note(*, hi5_id: int, recipient_id: int, organization_id: int) -> int:
    """Note a Hi5 for its receiver's next grouped email, and schedule that email unless one is waiting; 1 if
    this call scheduled it.

    Under the receiver's preferences row, which their email locks too: either the email running now
    has read this Hi5's note, or it has ended before the note commits, and then it no longer holds the
    queueing lock either, so this schedules the next one. A fan-out run again finds its note (taken or
    not) and notes nothing; a Hi5 deleted meanwhile is not noted."""
    _preferences_locked(recipient_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_hi5note (hi5_id, recipient_id) "
            "SELECT id, %s FROM recognitions_hi5 WHERE id = %s ON CONFLICT DO NOTHING",
            [recipient_id, hi5_id],
        )
        if not cursor.rowcount:
            return 0
    return _hi5_email_schedule(recipient_id=recipient_id, organization_id=organization_id)


def _hi5_email_schedule(*, recipient_id: int, organization_id: int, attempt: int = 0) -> int:
    """One Hi5 email waiting per receiver (procrastinate's queueing lock): the first Hi5 schedules it,
    the next ones find it waiting and will be in it. 1 if this call scheduled it."""
    delay = {"minutes": HI5_EMAIL_DELAY_MINUTES} if attempt == 0 else {"seconds": 5 ** min(attempt, 6)}
    task = jobs(HI5_EMAIL_TASK, schedule_in=delay, queueing_lock=f"hi5_email:{recipient_id}")
    try:
        with transaction.atomic():  # a savepoint: the refused INSERT must not abort the caller's transaction
            task.defer(recipient_id=recipient_id, organization_id=organization_id, attempt=attempt)
    except AlreadyEnqueued:
        return 0
    return 1


def hi5_email_job(*, recipient_id: int, organization_id: int, attempt: int) -> int:
    """The Hi5 email job. It does not use procrastinate's retries: a retried job would go back to
    `todo` beside the sibling a newer Hi5 may have queued under the same lock (refused by the lock's
    unique index, leaving it stuck). A failed send schedules the next try itself (5 s, 25 s, ... 4.3 h),
    which a sibling already waiting covers; after 7 attempts the job fails (the admin lists it)."""
    try:
        return hi5_email_deliver(recipient_id=recipient_id)
    except OSError:  # SMTP down or refusing (smtplib's errors are OSErrors)
        if attempt >= HI5_EMAIL_ATTEMPTS - 1:
            raise
        logger.warning("Hi5 email to member %s failed; trying again later", recipient_id, exc_info=True)
        _hi5_email_schedule(recipient_id=recipient_id, organization_id=organization_id, attempt=attempt + 1)
        return 0


def _unsubscribe_url(*, user: User, switch: str) -> str:
    token = signing.dumps({"u": user.pk, "s": switch}, salt=UNSUBSCRIBE_SALT, compress=True)
    return f"{settings.PEERLY_PUBLIC_URL.rstrip('/')}/notifications/unsubscribe?{urlencode({'token': token})}"


def notification_email_send(
    *, template: str, recipient: User, switch: str | None, context: dict, event_id: str = ""
) -> None:
    """Render templates/notifications/<template>{_subject.txt,.txt,.html} and send them, with the
    one-click unsubscribe link of RFC 8058 (in the body and the List-Unsubscribe headers) that turns
    `switch` off. No switch: an operational email to admins (a webhook switched off), not a newsletter."""
    headers = {}
    context = {**context, "recipient": recipient}
    if switch is not None:
        unsubscribe_url = _unsubscribe_url(user=recipient, switch=switch)
        context["unsubscribe_url"] = unsubscribe_url
        headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    subject = " ".join(render_to_string(f"notifications/{template}_subject.txt", context).split())
    if event_id:
        headers["Peerly-Event-Id"] = event_id
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"notifications/{template}.html", context), "text/html")
    message.send()


def email_deliver(*, kind: str, event: dict, recipient_id: int) -> bool:
    """Send one notification email if it still holds; whether it was sent. An SMTP failure raises (the
    job is retried)."""
    spec = EMAILS[kind]
    recognition = (
        Recognition.objects.select_related("given_by", "given_for", "core_value", "organization")
        .filter(pk=event["recognition_id"], organization_id=event["organization_id"])
        .first()
    )
    recipient = User.objects.filter(pk=recipient_id, organization_id=event["organization_id"]).first()
    if recognition is None or recipient is None or not recipient.is_active:
        return False
    if recognition.is_hidden != spec.announce_hidden:
        return False  # hidden before its announcement went out, or shown again before "hidden" did
    if not getattr(preferences_of(recipient), spec.switch):
        return False
    context = {"recognition": recognition, "organization": recognition.organization}
    notification_email_send(
        template=spec.template, recipient=recipient, switch=spec.switch, context=context, event_id=event["id"]
    )
    return True


def hi5_email_deliver(*, recipient_id: int) -> int:
    """The grouped Hi5 email: the Hi5s noted for the member and not taken yet, those on recognitions still
    visible in their organisation; how many it listed (0: nothing sent). The notes are taken whatever
    happens (sent, switched off, all hidden, member deleted: never bundled later), unless sending fails
    (the next try has them)."""
    recipient = User.objects.filter(pk=recipient_id).select_related("organization").first()
    if recipient is None:
        return 0
    with transaction.atomic():
        preferences = _preferences_locked(recipient.pk)
        noted = list(
            Hi5Note.objects.filter(recipient=recipient, taken_at__isnull=True).values_list("hi5_id", flat=True)
        )
        if not noted:
            return 0
        Hi5Note.objects.filter(hi5_id__in=noted).update(taken_at=timezone.now())
        if not recipient.is_active or recipient.organization is None or not preferences.email_hi5_received:
            return 0
        hi5s = list(
            Hi5.objects.filter(
                pk__in=noted,
                recognition__given_for=recipient,
                recognition__organization_id=recipient.organization_id,
                recognition__is_hidden=False,
            )
            .select_related("given_by", "recognition__core_value")
            .order_by("pk")
        )
        if not hi5s:
            return 0
        context = {"hi5s": hi5s, "organization": recipient.organization}
        notification_email_send(
            template="hi5_received", recipient=recipient, switch="email_hi5_received", context=context
        )
    return len(hi5s)


def hi5_notes_purge(*, days: int = HI5_NOTE_DAYS) -> int:
    """Forget the Hi5 notes an email took more than `days` ago; how many."""
    deleted, _ = Hi5Note.objects.filter(taken_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted


def preferences_update(*, user: User, **switches: bool) -> NotificationPreferences:
    """Set some of the member's email switches (the others keep their value)."""
    unknown = set(switches) - set(NotificationPreferences.SWITCHES)
    if unknown:
        raise ValueError(f"Unknown notification switches: {sorted(unknown)}")
    with transaction.atomic():
        preferences = _preferences_locked(user.pk)
        for name, value in switches.items():
            setattr(preferences, name, value)
        preferences.save(update_fields=[*switches, "updated_at"])
    return preferences


def unsubscribe_link_read(token: str) -> tuple[User, str]:
    """Whose email, and which switch, a signed unsubscribe link names; refused when tampered with or
    when its member is gone."""
    try:
        claims = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise InvalidUnsubscribeLink() from None
    switch = claims.get("s") if isinstance(claims, dict) else None
    user = User.objects.filter(pk=claims.get("u")).first() if switch in NotificationPreferences.SWITCHES else None
    if user is None or not user.is_active:
        raise InvalidUnsubscribeLink()
    return user, switch


def unsubscribe(*, token: str) -> tuple[User, str]:
    """The one-click unsubscribe: turn off the switch the link names (again: no harm)."""
    user, switch = unsubscribe_link_read(token)
    preferences_update(user=user, **{switch: False})
    return user, switch
