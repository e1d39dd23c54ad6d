"""Periodic jobs of the audit trail (procrastinate's scheduler, in every worker)."""

from procrastinate.contrib.django import app

from audit.services import audit_events_purge


@app.periodic(cron="37 3 * * *", periodic_id="purge_audit_events")  # daily, 03:37 UTC
@app.task(name="audit.purge_audit_events", queue="periodic", queueing_lock="purge_audit_events")
def purge_audit_events(timestamp: int) -> int:
    return audit_events_purge()
