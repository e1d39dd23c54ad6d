"""Periodic jobs of the platform (procrastinate's scheduler, in every worker)."""

import logging

from django.conf import settings
from procrastinate import exceptions
from procrastinate.contrib.django import app
from procrastinate.jobs import Status

from peerly.services import idempotency_records_purge

logger = logging.getLogger(__name__)


@app.periodic(cron="27 3 * * *", periodic_id="purge_idempotency_keys")  # daily, 03:27 UTC
@app.task(name="peerly.purge_idempotency_keys", queue="periodic", queueing_lock="purge_idempotency_keys")
def purge_idempotency_keys(timestamp: int) -> int:
    return idempotency_records_purge()


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")  # every minute
@app.task(name="peerly.retry_stalled_jobs", queue="periodic", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Start again the jobs of workers that died mid-job (SIGKILL, a lost machine): a worker whose
    heartbeat (every 10 s) is older than PEERLY_WORKER_STALLED_SECONDS."""
    manager = context.app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.PEERLY_WORKER_STALLED_SECONDS))
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
        except exceptions.UniqueViolation:
            # A job of its queueing lock is already waiting and does its work: this one is closed.
            await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
            logger.warning("Stalled job %s closed: its queueing lock's next job is waiting", job.id)
        else:
            retried += 1
    return retried
