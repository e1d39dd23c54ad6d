"""Domain events: what happened, announced to the notifications (email, Slack, outgoing webhooks)
as one job deferred in the transaction of the change (procrastinate keeps jobs in PostgreSQL):
a change that rolls back announces nothing, a committed one is never lost, even if the process dies
right after the commit. The domain services emit; `notifications.tasks.event_deliver` receives (by
name: the domain apps do not import the notifications app). Emitting costs one INSERT.
"""

import uuid
from enum import StrEnum

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import JobDeferrer
from procrastinate.manager import JobManager

DELIVER_TASK = "notifications.event_deliver"


class EventType(StrEnum):
    RECOGNITION_CREATED = "recognition.created"
    HI5_CREATED = "hi5.created"
    RECOGNITION_HIDDEN = "recognition.hidden"  # a moderator hid it
    RECOGNITION_RESTORED = "recognition.restored"  # a later review showed it again


def jobs(task_name: str, **options) -> JobDeferrer:
    """A deferrer of `task_name` (a registered task: a misspelt name fails at once) that writes through
    Django's own database connection, so the job joins the transaction in progress: in a web process,
    and inside a worker too, where procrastinate's app runs on the worker's own autocommitting pool
    (a job deferring others through it would commit them at once, outside its transaction)."""
    deferrer = app.tasks[task_name].configure(**options)
    deferrer.job_manager = JobManager(DjangoConnector())
    return deferrer


def event_emit(event_type: EventType, *, organization_id: int, **ids: int) -> str:
    """Announce an event (its subject's ids, never its content: each delivery re-reads the state when
    it runs); its id, which every delivery of it carries (for de-duplication)."""
    if not settings.PEERLY_EVENTS_ENABLED:  # the benchmark's baseline only (peerly/settings.py)
        return ""
    event_id = str(uuid.uuid4())
    event = {
        "id": event_id,
        "type": str(event_type),
        "created_at": timezone.now().isoformat(),
        "organization_id": organization_id,
        **ids,
    }
    jobs(DELIVER_TASK).defer(event=event)
    return event_id
