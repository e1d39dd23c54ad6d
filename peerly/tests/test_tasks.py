"""The platform's periodic jobs: restarting the jobs of dead workers (peerly/tasks.py)."""

import asyncio
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from peerly.events import jobs
from peerly.tasks import retry_stalled_jobs


def run_retry_stalled_jobs() -> int:
    async def run() -> int:
        try:
            return await retry_stalled_jobs.func(SimpleNamespace(app=app), timestamp=0)
        finally:
            await sync_to_async(connections.close_all)()

    return asyncio.run(run())


def hi5_email(**options) -> int:
    return jobs("notifications.hi5_email_send", queueing_lock="hi5_email:1", **options).defer(
        recipient_id=1, organization_id=1, attempt=0
    )


def left_doing_by_a_dead_worker(job_id: int) -> None:
    with connection.cursor() as cursor:  # as procrastinate leaves it when its worker is killed and pruned
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = %s", [job_id])


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_job_is_started_again():
    job_id = hi5_email()
    left_doing_by_a_dead_worker(job_id)
    assert run_retry_stalled_jobs() == 1
    assert ProcrastinateJob.objects.get(pk=job_id).status == "todo"


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_job_whose_lock_has_a_waiting_successor_is_closed_not_stuck():
    stalled = hi5_email()
    left_doing_by_a_dead_worker(stalled)
    successor = hi5_email()  # a newer Hi5 queued the next email under the same lock
    other = jobs("notifications.event_deliver").defer(event={})
    left_doing_by_a_dead_worker(other)

    assert run_retry_stalled_jobs() == 1  # the other one; the loop went on past the refused one
    statuses = dict(ProcrastinateJob.objects.values_list("id", "status"))
    assert (statuses[stalled], statuses[successor], statuses[other]) == ("failed", "todo", "todo")
