"""Domain events: what happened, announced to the notifications (email, Slack, outgoing webhooks)
as one job deferred in the transaction of the change (procrastinate keeps jobs in PostgreSQL):
a change that rolls back announces nothing, a committed one is never lost, even if the process dies
right after the commit. The domain services emit; `notifications.tasks.event_deliver` receives (by
name: the domain apps do not import the notifications app). Emitting costs one INSERT.
"""

import functools
import json
import uuid
from enum import StrEnum

from django.conf import settings
from django.db import connection
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


class TaskDefer:
    """One task's jobs deferred by one statement on Django's connection (so in the transaction in
    progress), its SQL and the job's columns settled once: what procrastinate's own deferrer sends
    (its `procrastinate_defer_jobs_v1` function; queue, priority and locks from the registered task;
    the same JSON arguments), so workers and the admin see ordinary jobs, without the deferrer's
    per-call Python (task, job manager and job built and copied, log records built and dropped, the
    arguments adapted as an array of records): an event's Python falls from 0.36 to 0.20 ms in
    process (BENCHMARKS.md). For the writes' events; tasks with a queueing lock or a schedule keep
    `jobs()` (its AlreadyEnqueued, its schedule_in)."""

    SQL = (
        "SELECT unnest(procrastinate_defer_jobs_v1("
        "ARRAY[ROW(%s, %s, %s, %s, %s, %s::jsonb, NULL)]::procrastinate_job_to_defer_v1[]))"
    )

    def __init__(self, task_name: str):
        job = app.tasks[task_name].configure().job  # procrastinate's own defaults for this task
        if job.queueing_lock is not None or job.scheduled_at is not None:
            raise ValueError(f"{task_name} has a queueing lock or a schedule: defer it with jobs()")
        self.params = (job.queue, job.task_name, job.priority, job.lock, job.queueing_lock)

    def defer(self, **task_kwargs) -> int:
        """Defer one job of the task with these arguments; its id."""
        with connection.cursor() as cursor:
            cursor.execute(self.SQL, (*self.params, json.dumps(task_kwargs)))
            return cursor.fetchone()[0]


@functools.cache
def task_defer(task_name: str) -> TaskDefer:
    """The task's TaskDefer, built at its first use (the tasks are registered when the apps are ready)."""
    return TaskDefer(task_name)


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
    task_defer(DELIVER_TASK).defer(event=event)
    return event_id
