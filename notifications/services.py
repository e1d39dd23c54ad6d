"""Who hears of an event, and how (email for now): the rules of the notifications.

`event_fan_out` turns one event (peerly/events.py) into one job per delivery, in one transaction, so
each delivery is retried on its own and a retried fan-out never doubles one. Each delivery re-reads
the state when it runs: a recognition hidden before its email went out is not announced, a member
deleted since gets nothing.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from procrastinate.contrib.django import app

from accounts.models import User
from peerly.events import EventType
from recognitions.models import Recognition

EMAIL_TASK = "notifications.email_send"


@dataclass(frozen=True)
class EmailKind:
    template: str  # templates/notifications/<template>.txt and .html, and _subject.txt
    recipient: str  # the recognition's attribute naming who receives it
    announce_hidden: bool  # sent only while the recognition is hidden (else only while visible)


EMAILS = {
    "recognition_received": EmailKind("recognition_received", "given_for", announce_hidden=False),
    "recognition_hidden": EmailKind("recognition_hidden", "given_by", announce_hidden=True),
}
EMAILS_FOR_EVENT = {
    EventType.RECOGNITION_CREATED: ["recognition_received"],
    EventType.RECOGNITION_HIDDEN: ["recognition_hidden"],
}


def event_fan_out(*, event: dict) -> int:
    """Defer the deliveries of one event; how many."""
    kinds = EMAILS_FOR_EVENT.get(EventType(event["type"]), [])
    recognition = (
        Recognition.objects.filter(pk=event.get("recognition_id"), organization_id=event["organization_id"])
        .only("given_by_id", "given_for_id")
        .first()
    )
    if recognition is None:
        return 0
    email = app.configure_task(name=EMAIL_TASK)
    with transaction.atomic():
        for kind in kinds:
            recipient_id = getattr(recognition, f"{EMAILS[kind].recipient}_id")
            email.defer(kind=kind, event=event, recipient_id=recipient_id)
    return len(kinds)


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
    context = {"recognition": recognition, "recipient": recipient, "organization": recognition.organization}
    subject = " ".join(render_to_string(f"notifications/{spec.template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/{spec.template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={"Peerly-Event-Id": event["id"]},
    )
    message.attach_alternative(render_to_string(f"notifications/{spec.template}.html", context), "text/html")
    message.send()
    return True
