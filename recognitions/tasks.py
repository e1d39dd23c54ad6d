"""Periodic jobs of the recognitions (procrastinate's scheduler, in every worker; no cron needed)."""

from procrastinate.contrib.django import app

from recognitions.services import hi5_quotas_renew


# Every 5 minutes, like the cron entry it replaces. Several workers each schedule it, but procrastinate
# defers one job per tick (periodic_defers is unique), and should two ever run, QuotaRenewal's
# uniqueness renews one period once (recognitions/tests/test_tasks.py).
@app.periodic(cron="*/5 * * * *", periodic_id="renew_hi5_quotas")
@app.task(name="recognitions.renew_hi5_quotas", queue="periodic", queueing_lock="renew_hi5_quotas")
def renew_hi5_quotas(timestamp: int) -> int:
    return sum(outcome.renewed for outcome in hi5_quotas_renew())
