"""Periodic jobs of the accounts (procrastinate's scheduler, in every worker)."""

from procrastinate.contrib.django import app

from accounts.services import revoked_tokens_purge


@app.periodic(cron="17 3 * * *", periodic_id="purge_revoked_tokens")  # daily, 03:17 UTC
@app.task(name="accounts.purge_revoked_tokens", queue="periodic", queueing_lock="purge_revoked_tokens")
def purge_revoked_tokens(timestamp: int) -> int:
    return revoked_tokens_purge()
